"""DIGITS' form fields: defaults, wtforms' messages and the sweep."""
from caffelite.digits import forms


def test_model_form_defaults_are_digits():
    values, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd'})
    assert errors == {'standard_networks': ['This field is required.']}
    assert (values['train_epochs'], values['learning_rate'], values['lr_policy']) == (
        30, [0.01], 'step')
    assert (values['use_mean'], values['solver_type'], values['batch_size']) == (
        'image', 'SGD', [None])
    assert forms.lr_policy(values) == {'policy': 'step', 'stepsize': 33.0, 'gamma': 0.1}


def test_dataset_form_defaults_and_limits():
    values, errors = forms.parse_dataset_form({'dataset_name': 'x', 'folder_train': '/d'})
    assert not errors
    assert (values['resize_width'], values['resize_channels'], values['folder_pct_val'],
            values['encoding'], values['resize_mode']) == (256, '3', 25, 'png', 'squash')
    _, errors = forms.parse_dataset_form({'dataset_name': 'x', 'folder_train': '/d',
                                          'folder_pct_val': '70', 'folder_pct_test': '40',
                                          'backend': 'tfrecords', 'has_val_folder': 'y'})
    assert set(errors) == {'folder_pct_val', 'backend', 'folder_val'}


def test_dataset_form_separate_folders():
    values, errors = forms.parse_dataset_form({
        'dataset_name': 'x', 'folder_train': '/d', 'has_val_folder': 'y', 'folder_val': '/v',
        'folder_test': '/t', 'folder_val_min_per_class': '3'})
    assert not errors and forms.separate_folders(values) == {'val': '/v'}
    assert (values['folder_val_min_per_class'], values['folder_test_min_per_class']) == (3, 2)
    _, errors = forms.parse_dataset_form({
        'dataset_name': 'x', 'method': 'archive', 'has_test_folder': 'y', 'folder_test': '/t',
        'folder_test_min_per_class': '5', 'folder_test_max_per_class': '4'})
    assert errors == {
        'has_test_folder': ['A separate test folder is read on the server: use method=folder.'],
        'folder_test_max_per_class': ['Field must be greater than folder_test_min_per_class.']}


def sweep_values(learning_rate, batch_size):
    """The parsed values of a LeNet model form with these two fields."""
    values, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd',
                                             'standard_networks': 'lenet',
                                             'learning_rate': learning_rate,
                                             'batch_size': batch_size})
    assert not errors
    return values


def test_sweep_makes_one_job_per_rate_and_batch_named_like_digits():
    jobs = forms.sweep(sweep_values('0.1, 0.01', '32,64'))
    assert [(v['learning_rate'], v['batch_size'], suffix) for v, suffix in jobs] == [
        (0.1, 32, ' learning_rate:0.1 batch_size:32'),
        (0.01, 32, ' learning_rate:0.01 batch_size:32'),
        (0.1, 64, ' learning_rate:0.1 batch_size:64'),
        (0.01, 64, ' learning_rate:0.01 batch_size:64')]


def test_sweep_lists_in_brackets_as_digits_tests_send_them():
    # DIGITS' own sweep test posts learning_rate='[0.01, 0.02]', batch_size='[8, 10]'
    values = sweep_values('[0.01, 0.02]', '[8, 10.0]')
    assert values['learning_rate'] == [0.01, 0.02] and values['batch_size'] == [8, 10]


def test_previous_network_snapshot_field():
    values, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd',
                                             'method': 'previous', 'previous_networks': 'j1',
                                             'j1-snapshot': '3'})
    assert not errors and values['previous_snapshot'] == 3.0
    _, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd',
                                        'method': 'previous', 'previous_networks': 'j1',
                                        'j1-snapshot': 'last'})
    assert errors == {'j1-snapshot': ['Not a valid float value.']}


def test_custom_network_parse_error_names_line_and_column():
    _, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd', 'method': 'custom',
                                        'custom_network': 'layer {\n  name: \n'})
    assert errors['custom_network'][0].startswith('Bad network: custom_network:2:8: ')


def test_clone_fields_make_the_same_form_again():
    model = {'model_name': 'm', 'dataset': 'd', 'method': 'previous', 'previous_networks': 'j1',
             'j1-snapshot': '2.5', 'learning_rate': '0.0125', 'batch_size': '8',
             'lr_policy': 'exp', 'random_seed': '123', 'use_mean': 'pixel'}
    values, errors = forms.parse_model_form(model)
    assert not errors
    assert forms.parse_model_form(forms.clone_fields(values)) == (values, {})
    dataset = {'dataset_name': 'x', 'folder_train': '/f', 'has_val_folder': 'y',
               'folder_val': '/v', 'folder_train_max_per_class': '3', 'resize_mode': 'half_crop'}
    values, errors = forms.parse_dataset_form(dataset)
    assert not errors
    assert forms.parse_dataset_form(forms.clone_fields(values)) == (values, {})
