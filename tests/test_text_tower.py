"""The text side without open_clip: the tower and tokenizer equal open_clip's own."""

from __future__ import annotations

import json

import open_clip
import pytest
import torch

from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.errors import ModelUnavailable
from fluffy_desktop.engine.open_clip_files import arch_config, clip_tokenizer
from fluffy_desktop.engine.text_tower import NotPlainTextTower, TextTower
from tests.tinymodel import tiny_variant, write_tiny_model

TEXTS = [
    "a photo of a cat",
    "Fluffy asleep on the SOFA, at night!",
    "café crème & naïve déjà-vu ☕",
    "",
    "word " * 100,  # longer than the context: cut, with end-of-text kept
]

# The tower's variants open_clip configs use: QuickGELU, tanh GELU, another LayerNorm eps,
# a biased linear projection, another MLP width.
VARIANTS = {
    "quick_gelu": {"quick_gelu": True},
    "tanh_gelu": {"text_cfg": {"act_kwargs": {"approximate": "tanh"}}},
    "norm_eps": {"text_cfg": {"norm_kwargs": {"eps": 1e-6}}},
    "proj_bias": {"text_cfg": {"proj_bias": True}},
    "mlp_ratio": {"text_cfg": {"mlp_ratio": 3.7362}},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_tower_encodes_as_open_clip_does(variant, tmp_path):
    config = tiny_variant("text_cfg", VARIANTS[variant])
    name = f"tower-{variant.replace('_', '-')}"
    write_tiny_model(tmp_path, seed=3, config=config, name=name)
    model = open_clip.create_model(name, pretrained=None)
    torch.manual_seed(4)  # open_clip starts some tables at zero; the comparison needs all
    for key, tensor in model.state_dict().items():
        # small input rows make LayerNorm's eps matter
        scale = 0.003 if key in ("token_embedding.weight", "positional_embedding") else 0.2
        tensor.copy_(torch.randn_like(tensor) * scale)
    model.eval()
    tower = TextTower(config, model.state_dict(), torch.device("cpu"))
    tokens = open_clip.get_tokenizer(name)(TEXTS)
    with torch.no_grad():
        ours = tower.encode_embedded(tower.embed(tokens), tokens)
        torch.testing.assert_close(ours, model.encode_text(tokens), atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "change",
    [
        {"text_cfg": {"pool_type": "last"}},
        {"text_cfg": {"no_causal_mask": True}},
        {"text_cfg": {"ls_init_value": 1e-4}},
        {"text_cfg": {"hf_model_name": "bert-base-uncased"}},
        {"custom_text": True},
    ],
)
def test_other_text_towers_are_refused_by_name(change):
    with pytest.raises(NotPlainTextTower, match="not CLIP's own"):
        TextTower(tiny_variant("text_cfg", change), {}, torch.device("cpu"))


def test_a_model_with_another_text_tower_is_a_one_line_user_error(tiny_spec, tmp_path):
    config = tiny_variant("text_cfg", {"text_cfg": {"pool_type": "last"}})
    config_file = tmp_path / "last-token.json"
    config_file.write_text(json.dumps(config))
    spec = ModelSpec(str(config_file), None, tiny_spec.weights, "cpu")
    with pytest.raises(ModelUnavailable, match="no built-in CLIP text tower") as raised:
        ClipModel.load(spec, tmp_path)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("arch", ["ViT-B-32", "ViT-L-14", "ViT-B-16-quickgelu"])
def test_the_tokenizer_is_open_clips(arch):
    name, config = arch_config(arch)
    ours = clip_tokenizer(name, config)(TEXTS)
    assert torch.equal(ours, open_clip.get_tokenizer(arch)(TEXTS))


def test_a_config_files_tokenizer_keeps_its_context_length():
    config = tiny_variant("text_cfg", {"text_cfg": {"context_length": 16}})
    tokens = clip_tokenizer("short-context", config)(TEXTS)
    assert tokens.shape == (len(TEXTS), 16)
    assert torch.equal(tokens, open_clip.tokenizer.SimpleTokenizer(context_length=16)(TEXTS))


def test_unknown_architectures_and_missing_configs_are_user_errors(tmp_path):
    with pytest.raises(ModelUnavailable, match="unknown model 'ViT-Q-99'"):
        arch_config("ViT-Q-99")
    with pytest.raises(ModelUnavailable, match="does not exist"):
        arch_config(str(tmp_path / "absent.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ModelUnavailable, match="cannot be read"):
        arch_config(str(broken))
