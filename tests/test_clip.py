"""The model layer: loading, encoding, and exact token injection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fluffy_desktop.engine.clip import PLACEHOLDER, ClipModel, ModelSpec, OpenClipImage
from fluffy_desktop.engine.errors import ModelUnavailable


def test_encodings_are_normalised_float32(tiny_clip):
    images = [Image.new("RGB", (40, 30), c) for c in ("red", "blue")]
    img = tiny_clip.encode_images(images)
    txt = tiny_clip.encode_texts(["a cat", "a dog on the beach"])
    for arr in (img, txt):
        assert arr.dtype == np.float32
        assert arr.shape == (2, tiny_clip.dim)
        np.testing.assert_allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-5)


def test_injection_of_a_real_word_row_equals_encode_text(tiny_clip):
    prompts = ["a photo of a dog on the sofa", "dog", "we see a dog in this image"]
    row = tiny_clip.word_rows("dog")[0]
    slotted = [p.replace("dog", PLACEHOLDER) for p in prompts]
    words = row.expand(len(prompts), -1)
    injected = tiny_clip.encode_tokens(tiny_clip.tokenize(slotted), words)
    reference = tiny_clip.encode_tokens(tiny_clip.tokenize(prompts))
    torch.testing.assert_close(injected, reference, atol=1e-5, rtol=0)


def test_truncation_is_exact(tiny_clip):
    tokens = tiny_clip.tokenize(["a", "a much longer sentence about a cat asleep on the sofa"])
    full = tiny_clip.encode_tokens(tokens, truncate=False)
    cut = tiny_clip.encode_tokens(tokens, truncate=True)
    torch.testing.assert_close(cut, full, atol=1e-5, rtol=0)


def test_injection_is_differentiable_and_counts_slots(tiny_clip):
    word = torch.zeros(tiny_clip.word_width, requires_grad=True)
    tokens = tiny_clip.tokenize([f"a cat {PLACEHOLDER} asleep"])
    tiny_clip.encode_tokens(tokens, word[None]).sum().backward()
    assert word.grad is not None and word.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        tiny_clip.encode_tokens(tokens, torch.zeros(2, tiny_clip.word_width))


def test_same_weights_same_identity(tiny_spec, tiny_clip, tmp_path):
    again = ClipModel.load(tiny_spec, tmp_path)
    assert again.identity == tiny_clip.identity


def test_missing_weights_file_is_a_user_error(tiny_spec, tmp_path):
    spec = ModelSpec(arch=tiny_spec.arch, weights=tmp_path / "nope.safetensors", device="cpu")
    with pytest.raises(ModelUnavailable, match="does not exist"):
        ClipModel.load(spec, tmp_path)


def test_pickle_weights_are_not_unpickled(tiny_spec, tmp_path):
    import pickle

    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"

    class Payload:
        def __reduce__(self):
            return (marker.touch, ())

    evil.write_bytes(pickle.dumps({"x": Payload()}))
    spec = ModelSpec(arch=tiny_spec.arch, weights=evil, device="cpu")
    with pytest.raises(ModelUnavailable):
        ClipModel.load(spec, tmp_path)
    assert not marker.exists()


def test_weights_for_another_architecture_are_refused(tiny_spec, tmp_path):
    from safetensors.torch import save_file

    wrong = tmp_path / "wrong.safetensors"
    save_file({"visual.proj": torch.zeros(3, 3)}, str(wrong))
    spec = ModelSpec(arch=tiny_spec.arch, weights=wrong, device="cpu")
    with pytest.raises(ModelUnavailable, match="does not fit"):
        ClipModel.load(spec, tmp_path)


def test_the_app_knows_whether_the_model_needs_a_download(tmp_path, tiny_model_files):
    """A weights file that exists, or hub weights already in the home's cache, need none."""
    import open_clip

    from fluffy_desktop.engine.album import Album

    hub = ModelSpec("ViT-B-32", "laion2b_s34b_b79k", None, "cpu")
    with Album(tmp_path / "home", hub) as album:
        assert not album.model_on_disk()
        repo = open_clip.get_pretrained_cfg(hub.arch, hub.pretrained)["hf_hub"].strip("/")
        cached = album.home.models_dir / f"models--{repo.replace('/', '--')}"
        (cached / "refs").mkdir(parents=True)
        (cached / "refs" / "main").write_text("0" * 40)
        snapshot = cached / "snapshots" / ("0" * 40)
        snapshot.mkdir(parents=True)
        (snapshot / "open_clip_model.safetensors").write_bytes(b"weights")
        assert album.model_on_disk()
    config, weights = tiny_model_files
    for path, expected in ((weights, True), (tmp_path / "gone.safetensors", False)):
        spec = ModelSpec(str(config), None, path, "cpu")
        with Album(tmp_path / "home", spec) as album:
            assert album.model_on_disk() is expected


def _usual_build(tiny_spec):
    """The tiny model built the usual way: random init, then the file's weights copied in."""
    import open_clip
    from safetensors.torch import load_file

    model = open_clip.create_model(Path(tiny_spec.arch).stem, pretrained=None)
    model.load_state_dict(load_file(str(tiny_spec.weights)))
    return model.eval()


def _mapped_from(path: Path, tensor: torch.Tensor) -> bool:
    """Whether tensor's memory lies in a mapping of the file at path (Linux's /proc)."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, *_, name = line.split(maxsplit=5)
        start, end = (int(x, 16) for x in span.split("-"))
        if name == str(path.resolve()) and start <= tensor.data_ptr() < end:
            return True
    return False


Features = tuple[torch.Tensor, torch.Tensor]


def _encode_both(clip: ClipModel, other) -> tuple[Features, Features]:
    """(text, image) features from clip and from another open_clip model, on the same input."""
    tokens = clip.tokenize(["a cat asleep on the sofa", "a red backpack"])
    pixels = torch.rand(2, 3, clip.image_size, clip.image_size)
    with torch.no_grad():
        ours = (clip.encode_tokens(tokens, truncate=False), clip.image.encode(pixels))
        theirs = (other.encode_text(tokens), other.encode_image(pixels))
    return ours, theirs


def test_loading_wears_the_files_weights_and_encodes_like_the_usual_build(tiny_spec, tmp_path):
    """The towers read the file's own memory-mapped tensors, not copies of them."""
    clip = ClipModel.load(tiny_spec, tmp_path)
    if Path("/proc/self/maps").exists():
        assert _mapped_from(tiny_spec.weights, clip.text.token_embedding)
        assert _mapped_from(tiny_spec.weights, clip.image_tower.weight("conv1.weight"))
    ours, theirs = _encode_both(clip, _usual_build(tiny_spec))
    for mine, usual in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, usual, atol=2e-5, rtol=1e-4)


def test_a_tower_of_another_kind_is_open_clips_own_wearing_the_files_weights(
    layer_scale_spec, tmp_path
):
    """open_clip builds an image side ImageTower does not compute, on the meta device, with
    the file's tensors assigned; it encodes as the usual build does, and locating is refused."""
    clip = ClipModel.load(layer_scale_spec, tmp_path)
    model = clip.image.model
    if Path("/proc/self/maps").exists():
        assert _mapped_from(layer_scale_spec.weights, model.visual.conv1.weight)
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    usual = _usual_build(layer_scale_spec)
    torch.testing.assert_close(model.attn_mask, usual.attn_mask)
    ours, theirs = _encode_both(clip, usual)
    for mine, expected in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, expected, atol=2e-5, rtol=1e-4)
    with pytest.raises(ModelUnavailable, match="locating needs a plain class-token ViT"):
        _ = clip.image_tower


def test_a_tower_of_another_kind_preprocesses_with_its_tags_pixel_statistics(
    layer_scale_spec, tmp_path
):
    """open_clip's image side gets the pretrained tag's statistics (weights.hub_pixel_stats,
    here from the home's record of them), as ImageTower's preprocessing does."""
    import json
    from dataclasses import replace

    import open_clip

    stats = {"mean": [0.5] * 3, "std": [0.25] * 3, "interpolation": "bilinear"}
    record = tmp_path / "downloads" / "hub-pixels.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"fluffy-tiny-ls some-tag": stats}))
    clip = ClipModel.load(replace(layer_scale_spec, pretrained="some-tag"), tmp_path)
    assert isinstance(clip.image, OpenClipImage)
    overrides = {f"image_{key}": value for key, value in stats.items()}
    _, _, usual = open_clip.create_model_and_transforms("fluffy-tiny-ls", **overrides)
    photo = Image.new("RGB", (40, 30), "teal")
    assert torch.equal(clip.preprocess(photo), usual(photo))


def test_half_precision_weights_load_as_the_architectures_float32(tiny_spec, tmp_path):
    from safetensors.torch import load_file, save_file

    half = tmp_path / "half.safetensors"
    save_file({k: v.half() for k, v in load_file(str(tiny_spec.weights)).items()}, str(half))
    clip = ClipModel.load(ModelSpec(tiny_spec.arch, None, half, "cpu"), tmp_path)
    assert clip.image_tower.weight("proj").dtype == torch.float32
    assert clip.encode_texts(["a cat"]).dtype == np.float32
    assert clip.encode_images([Image.new("RGB", (40, 30))]).dtype == np.float32


def test_weights_of_the_wrong_shape_are_refused(tiny_spec, tmp_path):
    from safetensors.torch import load_file, save_file

    state = load_file(str(tiny_spec.weights))
    state["text_projection"] = torch.zeros(3, 3)
    wrong = tmp_path / "wrong-shape.safetensors"
    save_file(state, str(wrong))
    with pytest.raises(ModelUnavailable, match="does not fit"):
        ClipModel.load(ModelSpec(tiny_spec.arch, None, wrong, "cpu"), tmp_path)


def test_an_architecture_with_other_unsaved_buffers_is_built_the_usual_way(
    layer_scale_spec, tmp_path, monkeypatch
):
    """Only the causal mask can be rebuilt after a meta build; any other buffer that the file
    does not hold must come from a real build, never stay empty."""
    from fluffy_desktop.engine import clip as clip_module

    real_create = clip_module._create

    def create_with_extra_buffer(arch, overrides, device):
        model, preprocess = real_create(arch, overrides, device)
        scale = torch.full((1,), 2.0, device=device)
        model.visual.register_buffer("scale", scale, persistent=False)
        return model, preprocess

    monkeypatch.setattr(clip_module, "_create", create_with_extra_buffer)
    clip = ClipModel.load(layer_scale_spec, tmp_path)
    model = clip.image.model
    assert model.visual.scale.item() == 2.0
    pixels = torch.rand(1, 3, clip.image_size, clip.image_size)
    with torch.no_grad():
        usual = _usual_build(layer_scale_spec).encode_image(pixels)
        torch.testing.assert_close(model.encode_image(pixels), usual)


def _with_wrong_image_side(tiny_spec, folder: Path) -> Path:
    """The tiny model's file with a patch filter of another size: its text tower still fits."""
    from safetensors.torch import load_file, save_file

    state = load_file(str(tiny_spec.weights))
    state["visual.conv1.weight"] = torch.zeros(*state["visual.conv1.weight"].shape[:2], 4, 4)
    wrong = folder / "other-patches.safetensors"
    save_file(state, str(wrong))
    return wrong


def test_weights_that_fit_only_the_text_tower_are_refused_when_images_are_first_encoded(
    tiny_spec, tmp_path
):
    wrong = _with_wrong_image_side(tiny_spec, tmp_path)
    clip = ClipModel.load(ModelSpec(tiny_spec.arch, None, wrong, "cpu"), tmp_path)
    assert clip.encode_texts(["a cat"]).shape == (1, clip.dim)  # search needs no image side
    with pytest.raises(ModelUnavailable, match="does not fit") as raised:
        clip.encode_images([Image.new("RGB", (32, 32))])
    assert "\n" not in str(raised.value)


def test_choosing_such_a_file_in_the_app_is_refused_at_once_and_remembered_nowhere(
    tiny_spec, tmp_path
):
    from fluffy_desktop.engine.album import Album

    wrong = _with_wrong_image_side(tiny_spec, tmp_path)
    with Album(tmp_path / "home", tiny_spec) as album:
        with pytest.raises(ModelUnavailable, match="does not fit"):
            album.use_model_file(wrong)
        assert album.spec == tiny_spec
        assert not album.settings_file.exists()


def test_the_text_tower_wears_the_files_own_tensors(tiny_spec, tmp_path):
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs Linux's /proc to see memory mappings")
    clip = ClipModel.load(tiny_spec, tmp_path)
    assert _mapped_from(tiny_spec.weights, clip.text.token_embedding)
