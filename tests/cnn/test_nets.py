"""fersk.cnn.nets: the baseline CNN's layer shapes and parameter count, its compact member, and
raw pixels standardised inside the network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fersk.cnn import CONV_BLOCKS, DENSE_UNITS, BaselineCNN, CNNClassifier, count_parameters
from fersk.features.preprocess import CNNPreprocessor
from tests.cnn.conftest import SIZE

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("size", [48, 75, 100])
@pytest.mark.parametrize("channels", [1, 3])
def test_layer_output_shapes(size, channels):
    net = BaselineCNN(n_classes=7, size=size, channels=channels).eval()
    x = torch.zeros(2, channels, size, size)
    side = size
    with torch.no_grad():
        for block, (filters, _) in zip(net.features, CONV_BLOCKS):
            x = block(x)
            side //= 2  # 'same' convolution keeps the side, the 2x2 pool halves it
            assert tuple(x.shape) == (2, filters, side, side)
        assert net.classifier[1].in_features == 512 * side * side
        assert tuple(net(torch.zeros(2, channels, size, size)).shape) == (2, 7)
    assert side == {48: 3, 75: 4, 100: 6}[size]


def _expected_parameters(size, channels, n_classes):
    """Count from the layer shapes: conv k*k*in*out + out bias, BN 2*out, dense in*out + out."""
    total, in_ch, side = 0, channels, size
    for filters, kernel in CONV_BLOCKS:
        total += kernel * kernel * in_ch * filters + filters + 2 * filters
        in_ch, side = filters, side // 2
    n_in = in_ch * side * side
    for units in DENSE_UNITS:
        total += n_in * units + units + 2 * units
        n_in = units
    return total + n_in * n_classes + n_classes


@pytest.mark.parametrize("size, channels, n_classes", [(100, 1, 7), (48, 1, 7), (75, 3, 6)])
def test_parameter_count_matches_the_layer_formula(size, channels, n_classes):
    net = BaselineCNN(n_classes=n_classes, size=size, channels=channels)
    assert count_parameters(net) == _expected_parameters(size, channels, n_classes)
    if (size, channels, n_classes) == (100, 1, 7):  # the study's setting: ~8.0 M
        assert 7.95e6 < count_parameters(net) < 8.05e6


def test_network_rejects_too_small_input():
    with pytest.raises(ValueError, match="at least 16"):
        BaselineCNN(size=12)


def test_compact_cnn_is_the_baseline_family_at_a_quarter_width_and_double_depth():
    from fersk.cnn import BaselineCNN, CompactCNN, count_parameters

    compact = CompactCNN(size=48)
    assert (compact.width, compact.depth) == (0.25, 2)
    convs = [m for m in compact.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 16, 32, 32, 128, 128, 128, 128]
    assert [c.kernel_size[0] for c in convs] == [3, 3, 5, 5, 3, 3, 3, 3]
    assert count_parameters(compact) < count_parameters(BaselineCNN(size=48)) / 4
    # width=1, depth=1 is the paper's network, parameter for parameter.
    assert count_parameters(BaselineCNN(size=100, width=1.0, depth=1)) == 8_013_703


def test_raw_uint8_pixels_and_standardised_images_predict_alike(sample, one_thread):
    from fersk.cnn import CompactCNN

    raw = CNNPreprocessor(size=SIZE, dtype="uint8").fit_transform(sample.X)
    scaled = CNNPreprocessor(size=SIZE).fit_transform(sample.X)
    assert raw.dtype == np.uint8 and raw.nbytes * 4 == scaled.nbytes
    net = CNNClassifier(CompactCNN, max_epochs=1, train_split=None).fit(raw, sample.target)
    np.testing.assert_allclose(net.predict_proba(raw), net.predict_proba(scaled), atol=1e-5)
