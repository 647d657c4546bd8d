"""A small deploy net and its weights written to a folder, for tests that
need files a user would pass (a prototxt and a .caffemodel)."""
import caffelite


def tiny_model(folder, input_shape=(2, 3)):
    """(prototxt path, caffemodel path) of Input ``data`` -> InnerProduct
    ``ip`` (2 outputs), the weights as the fillers made them."""
    model = folder / 'deploy.prototxt'
    model.write_text('layer { name: "data" type: "Input" top: "data" input_param { shape { %s } } }\n'
                     'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
                     'inner_product_param { num_output: 2 } }\n'
                     % ' '.join('dim: %d' % d for d in input_shape))
    weights = folder / 'w.caffemodel'
    caffelite.Net(str(model), caffelite.TEST).save(str(weights))
    return str(model), str(weights)
