"""``caffelite serve``: NVIDIA DIGITS' web app, served again.

* :mod:`.app`: the Starlette application, DIGITS' routes and JSON keys;
* :mod:`.jobs`: jobs on disk in DIGITS' layout, state as JSON;
* :mod:`.executor`, :mod:`.runner`, :mod:`.worker`: jobs run in worker
  processes, one at a time per device, with abort and resume;
* :mod:`.datasets`, :mod:`.models`: what dataset and model jobs write and
  answer; :mod:`.inference`: loaded classifiers;
* :mod:`.events`: live updates as Server-Sent Events;
* :mod:`.security`, :mod:`.archives`: token, data roots, upload cap,
  cross-origin refusal, safe unpacking.
"""
