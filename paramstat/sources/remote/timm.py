"""timm model names: fresh (``torch.manual_seed(seed)`` then ``timm.create_model(name, pretrained=False)``),
pretrained (weights from the HF hub / torch hub cache; fails in seconds when offline and uncached), and
architectures that lend roles to weights from a file (``--model NAME --checkpoint FILE``)."""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from ...errors import ParamstatError
from . import hub


def versions() -> dict:
    import timm
    import torch

    return {"timm_version": str(timm.__version__), "torch_version": str(torch.__version__)}


def check_name(name: str) -> None:
    """Raise ParamstatError with close timm names when ``name`` is not a timm architecture."""
    import timm

    base = name.split(".", 1)[0]
    if timm.is_model(base):
        return
    names = timm.list_models()
    low = base.lower()
    close = [n for n in names if n.startswith(low)][:3]
    close += [n for n in difflib.get_close_matches(low, names, n=5, cutoff=0.6) if n not in close]
    if not close:
        close = [n for n in names if low in n][:5]
    close = close[:5]
    hint = ("did you mean: " + ", ".join(close)) if close else \
        "give a checkpoint file/folder, or a timm model name (timm.list_models())"
    raise ParamstatError(f"not a file and not a timm model name: {name!r}", hint=hint)


def build_module(name: str, *, seed: int = 0, meta: bool = False, num_classes: int | None = None):
    """timm.create_model(name, pretrained=False[, num_classes=]) after torch.manual_seed(seed); on the meta
    device when only the architecture (types and shapes) is needed."""
    import timm
    import torch

    check_name(name)
    base = name.split(".", 1)[0]
    kw = {} if num_classes is None else {"num_classes": int(num_classes)}
    if meta:
        try:
            with torch.device("meta"):
                return timm.create_model(base, pretrained=False, **kw)
        except Exception:  # noqa: BLE001 - some inits do not run on meta; fall back to CPU
            pass
    torch.manual_seed(seed)
    return timm.create_model(base, pretrained=False, **kw)


def classifier_names(module) -> tuple[str, ...]:
    """The name prefixes of a timm model's classifier tensors (``default_cfg['classifier']``: 'fc',
    'classifier', 'head.fc', ...), each ending in '.'."""
    cls = (getattr(module, "default_cfg", None) or {}).get("classifier") or ()
    return tuple(f"{c}." for c in ((cls,) if isinstance(cls, str) else cls))


def load_fresh(name: str, seed: int = 0):
    from ..module import checkpoint_from_module

    model = build_module(name, seed=seed)
    model.eval()
    prov = {"arch": name.split(".", 1)[0], "pretrained": False, "fresh": True, "seed": int(seed),
            "init": "timm create_model(pretrained=False) after torch.manual_seed(seed)"}
    prov.update(versions())
    return checkpoint_from_module(model, source=name, provenance=prov, format="timm")


def _cached_weights(cfg) -> str | None:
    """Path of already-downloaded pretrained weights (HF hub cache or torch hub cache), or None."""
    if getattr(cfg, "file", None) and Path(cfg.file).exists():
        return str(cfg.file)
    hub_id = getattr(cfg, "hf_hub_id", None)
    if hub_id:
        try:
            from huggingface_hub import try_to_load_from_cache

            from .hub import cache_dir as hub_cache_dir

            repo = hub_id.split("@")[0]
            cache_dir = hub_cache_dir()
            for fn in ([cfg.hf_hub_filename] if getattr(cfg, "hf_hub_filename", None) else []) + \
                    ["model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"]:
                p = try_to_load_from_cache(repo, fn, cache_dir=cache_dir)
                if isinstance(p, str) and os.path.exists(p):
                    return p
        except ImportError:
            pass
    url = getattr(cfg, "url", None)
    if url:
        import torch

        p = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url.split("?")[0])
        if p.exists():
            return str(p)
    return None


def _hub_config_cached(repo: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    from .hub import cache_dir

    p = try_to_load_from_cache(repo, "config.json", cache_dir=cache_dir())
    return isinstance(p, str) and os.path.exists(p)


def load_hub(name: str, *, fresh: bool = False, seed: int = 0):
    """``hf-hub:ORG/NAME[@REV]``: handed to ``timm.create_model`` as is (it reads the repo's config.json, and
    with pretrained the weights, from the Hugging Face hub or its cache); fresh: ``pretrained=False`` after
    ``torch.manual_seed(seed)``. Offline with nothing cached: one line saying the hub cannot be reached."""
    import timm
    import torch

    from ..module import checkpoint_from_module

    repo = name.split(":", 1)[1].split("@", 1)[0]
    what = "its config" if fresh else "its config and weights"
    if not _hub_config_cached(repo) and not hub.online():
        raise ParamstatError(f"timm model {name!r} needs {what} from the Hugging Face hub, which cannot be "
                             f"reached (offline), and the local cache holds nothing for {repo}",
                             hint="connect once to fill the cache, or give a timm name (e.g. "
                                  f"{repo.rsplit('/', 1)[-1].split('.', 1)[0]} --fresh) or a weights file")
    torch.manual_seed(seed)
    try:
        model = timm.create_model(name, pretrained=not fresh)
    except Exception as e:  # noqa: BLE001 - hub errors of many kinds (missing repo, no timm config, network)
        raise ParamstatError(f"timm could not build {name!r} ({type(e).__name__}: "
                             f"{(str(e).splitlines() or [''])[0][:120]})",
                             hint="check the repo name (a timm model repo with config.json)") from e
    model.eval()
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    prov = {"arch": cfg.get("architecture") or repo, "hf_hub_id": repo, "pretrained": not fresh, "fresh": fresh}
    if fresh:
        prov.update(seed=int(seed), init="timm create_model(pretrained=False) after torch.manual_seed(seed)")
    prov.update(versions())
    return checkpoint_from_module(model, source=name, provenance=prov, format="timm")


def load_pretrained(name: str):
    import timm
    from timm.models import get_pretrained_cfg

    from ..module import checkpoint_from_module

    check_name(name)
    cfg = get_pretrained_cfg(name)
    if cfg is None:
        tags = timm.list_pretrained(name.split(".", 1)[0] + ".*")
        raise ParamstatError(f"timm has no pretrained weights for {name!r}",
                             hint=("pretrained tags: " + ", ".join(tags[:5])) if tags else
                             f"use --fresh to build it with its own init (paramstat ... {name} --fresh)")
    cached = _cached_weights(cfg)
    offline_hint = (f"use --fresh for a freshly initialized {name}, or --model {name} --checkpoint FILE "
                    "for weights you have on disk")
    if cached is None and not hub.online():
        raise ParamstatError(f"pretrained weights for timm model {name!r} are not in the local cache and the "
                             "Hugging Face hub cannot be reached (offline)", hint=offline_hint)
    try:
        if cached is not None:
            model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": cached})
        else:
            model = timm.create_model(name, pretrained=True)
    except Exception as e:  # noqa: BLE001 - network / hub errors of many kinds
        raise ParamstatError(f"could not get pretrained weights for {name!r} ({type(e).__name__}: "
                             f"{(str(e).splitlines() or [''])[0][:120]})", hint=offline_hint) from e
    model.eval()
    prov = {"arch": name.split(".", 1)[0], "pretrained": True, "fresh": False,
            "pretrained_tag": getattr(cfg, "tag", None), "hf_hub_id": getattr(cfg, "hf_hub_id", None),
            "weights_file": cached}
    if cached:
        from ..build import sha256_file

        prov["sha256"] = sha256_file(cached)
    prov.update(versions())
    return checkpoint_from_module(model, source=name, provenance=prov, format="timm")
