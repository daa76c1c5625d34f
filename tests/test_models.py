import pytest
import torch

from senti.models.registry import PRESETS, build_model, full_model_config, is_neural
from senti.models.rnn import POOLINGS, reverse_index

NEURAL = sorted(p for p in PRESETS if is_neural(PRESETS[p]["model"]))


def _net(preset: str, **kw):
    torch.manual_seed(0)
    return build_model({**PRESETS[preset]["model"], "vocab_size": 50, "num_classes": 3, **kw}).eval()


@pytest.mark.parametrize("preset", NEURAL)
def test_every_network_preset_builds_and_maps_a_batch_to_logits(preset):
    net = _net(preset)
    ids = torch.randint(2, 50, (4, 9))
    out = net(ids, torch.tensor([9, 5, 1, 3]))
    assert out.shape == (4, 3) and torch.isfinite(out).all()


PADDING_CASES = [(p, pool) for p in NEURAL if p != "conv1d" for pool in POOLINGS] + [("conv1d", None)]


@pytest.mark.parametrize(("preset", "pooling"), PADDING_CASES)
def test_padding_never_changes_a_prediction(preset, pooling):
    """Right padding is made exact (forward state at len-1, backward RNN on each row reversed within its
    length, masked pooling), so a text scores the same alone and in a padded batch."""
    net = _net(preset, **({"pooling": pooling} if pooling else {}))
    text = torch.randint(2, 50, (1, 6))
    alone = net(text, torch.tensor([6]))
    padded = torch.cat([text, torch.zeros(1, 5, dtype=torch.long)], dim=1)
    batch = torch.cat([padded, torch.randint(2, 50, (1, 11))])
    together = net(batch, torch.tensor([6, 11]))
    torch.testing.assert_close(together[:1], alone, atol=1e-5, rtol=1e-4)


def test_reverse_index_flips_within_length_only():
    idx = reverse_index(torch.tensor([3, 1, 4]), 4)
    assert idx.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]


def test_unknown_architecture_and_options_fail_clearly():
    with pytest.raises(ValueError, match="unknown architecture 'senti.transformer.v9'"):
        build_model({"architecture": "senti.transformer.v9"})
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['hiden_size'\]"):
        build_model({"architecture": "senti.rnn.v1", "hiden_size": 3})
    with pytest.raises(ValueError, match="model.cell"):
        build_model({"architecture": "senti.rnn.v1", "cell": "transformer"})


def test_full_config_records_every_default():
    cfg = full_model_config({"architecture": "senti.rnn.v1", "cell": "gru"})
    assert cfg["architecture"] == "senti.rnn.v1" and cfg["hidden_size"] == 128 and cfg["pooling"] == "maxmean"
