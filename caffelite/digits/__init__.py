"""NVIDIA DIGITS' rules for image classification, as pure functions.

* :mod:`.networks`: the standard all-in-one networks (LeNet, AlexNet,
  GoogLeNet) with ``stage: "train" | "val" | "deploy"`` rules;
* :mod:`.split`: such a network cut into ``train_val.prototxt`` and
  ``deploy.prototxt`` for a dataset, the way DIGITS does it;
* :mod:`.solver`: ``solver.prototxt`` from the model form (epochs,
  intervals and learning-rate policies in % of training);
* :mod:`.forms`: DIGITS' dataset and model form fields, their defaults and
  validation, and the sweep of batch sizes and learning rates;
* :mod:`.inference`: DIGITS' preprocessing at inference and its
  classification answers (top 5, accuracy, confusion matrix).

The web server (:mod:`caffelite.server`) builds its jobs from these.
"""
