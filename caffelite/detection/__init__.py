"""Object detection the course's three ways: sliding-window classification
(:mod:`.sliding_window`), fully convolutional heatmaps (with
:mod:`caffelite.surgery`), and DetectNet: its label encoding
(:mod:`.coverage`) and augmentation (:mod:`.augment`), box grouping
(:mod:`.grouping`), KITTI data (:mod:`.kitti`, :mod:`.dataset`), networks
(:mod:`.networks`), scoring (:mod:`.scoring`, :mod:`.evaluate`), pictures
(:mod:`.overlay`) and the embedded demo (:mod:`.demo`, :mod:`.synthetic`)."""
