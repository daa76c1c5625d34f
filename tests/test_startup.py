"""Lazy imports: a command loads only what it uses. `senti --help` and `import senti` load neither torch nor
scikit-learn; scoring with an n-gram model never needs torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NBSVM = Path(__file__).parent / "fixtures" / "legacy" / "nbsvm"
HEAVY = ("torch", "sklearn")


def loaded_after(code: str) -> dict[str, bool]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {list(HEAVY)!r}}}))"
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_import_senti_loads_no_heavy_library():
    assert loaded_after("import senti") == dict.fromkeys(HEAVY, False)


def test_the_cli_and_every_commands_help_load_no_heavy_library():
    code = ("import contextlib, io\nfrom senti.cli import main\n"
            "for name in [None, *main.commands]:\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        main([name, '--help'] if name else ['--help'], standalone_mode=True)")
    assert loaded_after(code) == dict.fromkeys(HEAVY, False)


def test_public_names_still_resolve():
    import senti

    for name in senti.__all__:
        assert getattr(senti, name) is not None, name
    with pytest.raises(AttributeError):
        senti.no_such_name  # noqa: B018


def test_an_ngram_model_predicts_without_torch_or_sklearn():
    code = f"import senti\nprint(senti.load({str(NBSVM)!r}).predict(['a great film']))"
    assert loaded_after(code) == dict.fromkeys(HEAVY, False)


def test_scoring_a_file_with_an_ngram_model_loads_no_heavy_library(tmp_path):
    # `senti predict RUN --input F` reads through senti.data, whose split helpers use scikit-learn: importing it
    # there cost 1.4 s of a 6.5 s run over 25,000 IMDB reviews.
    (tmp_path / "in.csv").write_text("text\na great film\ndull and awful\n")
    code = ("from senti.cli import main\n"
            f"try:\n    main(['predict', {str(NBSVM)!r}, '--input', {str(tmp_path / 'in.csv')!r}, "
            f"'--output', {str(tmp_path / 'out.csv')!r}])\nexcept SystemExit as e:\n    assert not e.code, e.code")
    assert loaded_after(code) == dict.fromkeys(HEAVY, False)
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 3


@pytest.mark.parametrize("preset", ["tfidf-logreg", "random-forest"])
def test_tfidf_models_predict_without_torch_or_sklearn(preset, tmp_path):
    import senti

    from .conftest import synthetic_reviews

    synthetic_reviews(120, seed=3).to_csv(tmp_path / "d.csv", index=False)
    run = senti.train(tmp_path / "r", train=tmp_path / "d.csv", model=preset, progress=False, calibrate=False)
    expected = run.model.predict_proba(["a great film", "dull and awful"]).tolist()
    code = (f"import senti\nimport json\nm = senti.load({str(tmp_path / 'r')!r})\n"
            "print(json.dumps(m.predict_proba(['a great film', 'dull and awful']).tolist()))")
    probe = f"{code}\nimport sys\nprint(json.dumps({{m: m in sys.modules for m in {list(HEAVY)!r}}}))"
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    proba, loaded = (json.loads(line) for line in p.stdout.strip().splitlines()[-2:])
    assert loaded == dict.fromkeys(HEAVY, False)
    assert proba == expected


@pytest.mark.parametrize("module", ["senti", "senti.cli"])
def test_python_dash_m_runs_the_command(module):
    p = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "senti, version 0.1.0", p.stderr
