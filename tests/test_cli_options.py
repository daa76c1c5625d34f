"""The CLI's static copies of library names (kept static so `senti --help` imports neither torch nor
scikit-learn) match the library."""

from senti.cli.options import PRESET_GROUPS, REFIT


def test_preset_groups_name_every_preset_once():
    from senti.models.registry import PRESETS

    listed = [name for names in PRESET_GROUPS.values() for name in names]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(PRESETS)


def test_refit_choices_match_the_ensemble():
    from senti.models.ensemble import REFIT as LIBRARY_REFIT

    assert tuple(REFIT) == tuple(LIBRARY_REFIT)
