"""Conformance: every per-layer case recorded from BVLC Caffe in
../shared/reference/layers must match at the README's tolerances."""
import pytest

from refcases import layer_case_names, run_layer_case


@pytest.mark.parametrize('case', layer_case_names() or ['(no reference data)'])
def test_layer_case(case):
    run_layer_case(case)
