"""Exporting caffelite nets to other formats: ONNX (``to_onnx``), checked
against caffelite in ONNX Runtime (``check_model``), with trailing Python
layers run after the graph (``postprocess``)."""
from .onnx import DEFAULT_OPSET, OPSETS, build_model, save_model, to_onnx
from .python_tail import postprocess
from .preprocess import Preprocessing
from .verify import CheckError, check_model

__all__ = ['DEFAULT_OPSET', 'OPSETS', 'CheckError', 'Preprocessing', 'build_model',
           'check_model', 'postprocess', 'save_model', 'to_onnx']
