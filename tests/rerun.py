"""Running other test modules' tests again inside a GPU test module."""
import importlib

# Caffe's layer and model cases, every gradient check, the layer behaviour
# tests, the data-layer trainers and the solver trajectories.
MODULES = ('test_reference_layers', 'test_reference_models', 'test_gradients',
           'test_layers_neuron', 'test_layers_vision', 'test_layers_normalization',
           'test_layers_common_loss', 'test_data_layers', 'test_solver')


def collect_again(namespace, modules=MODULES):
    """Add every test function of ``modules`` to ``namespace`` (a test
    module's globals) as ``test_again_<module>__<name>``, so pytest runs it
    there too, under that module's marks and autouse fixtures."""
    for module in modules:
        for name, test in vars(importlib.import_module(module)).items():
            if name.startswith('test_') and callable(test):
                namespace['test_again_%s__%s' % (module[5:], name[5:])] = test
