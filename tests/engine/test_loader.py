"""Strict, total loading: every problem with its file and line, nothing half-loaded."""

from __future__ import annotations

import pytest

from bot.engine import Engine, RuleSetError
from tests.conftest import RuleDir, mini_rule


def problems(d: object) -> list[str]:
    with pytest.raises(RuleSetError) as exc:
        Engine.from_dir(d)  # type: ignore[arg-type]
    return [str(p) for p in exc.value.problems]


def test_malformed_yaml_names_file_and_line(rule_dir: RuleDir) -> None:
    bad = mini_rule("bad").replace("severity: high", "severity: [high")
    found = problems(rule_dir(bad=bad))
    assert any("bad.yaml:" in p and "YAML" in p for p in found), found


def test_a_control_character_names_file_and_line(rule_dir: RuleDir) -> None:
    # A backspace pasted into a regex ("\b" written in the wrong quotes): refused, not a crash.
    bad = mini_rule("ctl").replace("丢失']", "丢失\x08']")
    found = problems(rule_dir(ctl=bad))
    line = next(i for i, ln in enumerate(bad.splitlines(), 1) if "\x08" in ln)
    assert any(f"ctl.yaml:{line}:" in p and "U+0008" in p for p in found), found


def test_unknown_key_names_its_line(rule_dir: RuleDir) -> None:
    text = mini_rule("extra").replace("severity: high\n", "severity: high\ncolour: red\n")
    found = problems(rule_dir(extra=text))
    assert any(
        p.startswith(f"{rule_dir().as_posix()}/extra.yaml:5:") and "colour" in p for p in found
    ), found


def test_every_problem_in_every_file_is_reported(rule_dir: RuleDir) -> None:
    one = mini_rule("one").replace("version: 1", "version: 0")
    two = mini_rule("two").replace("status: active", "status: live")
    found = problems(rule_dir(one=one, two=two))
    assert any("one.yaml" in p and "version" in p for p in found)
    assert any("two.yaml" in p and "status" in p for p in found)


def test_aliases_are_refused(rule_dir: RuleDir) -> None:
    bomb = 'a: &a ["x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b]\n'
    found = problems(rule_dir(bomb=bomb))
    assert any("bomb.yaml:1" in p and "aliases" in p for p in found), found


def test_huge_file_is_refused(rule_dir: RuleDir) -> None:
    huge = mini_rule("huge") + "# " + "x" * 300_000 + "\n"
    assert any("larger than" in p for p in problems(rule_dir(huge=huge)))


def test_duplicate_keys_are_refused(rule_dir: RuleDir) -> None:
    text = mini_rule("dup").replace("version: 1\n", "version: 1\nversion: 2\n")
    assert any("duplicate key 'version'" in p for p in problems(rule_dir(dup=text)))


def test_duplicate_ids_and_id_file_mismatch(rule_dir: RuleDir) -> None:
    found = problems(rule_dir({"other.yaml": mini_rule("first")}, first=mini_rule("first")))
    assert any("must equal the file name 'other'" in p for p in found), found


def test_regex_refused_by_re2(rule_dir: RuleDir) -> None:
    text = mini_rule("rx").replace("'(包裹|快递).{0,6}丢失'", "'(包裹)\\1'")
    found = problems(rule_dir(rx=text))
    assert any("rx.yaml:" in p and "refused by RE2" in p for p in found), found


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("'(包裹|快遞).{0,6}丟失'", "Traditional"),
        ("'(Parcel) lost'", "upper-case"),
        ("'a*'", "empty string"),
    ],
)
def test_regexes_that_could_never_match_normalized_text(
    rule_dir: RuleDir, pattern: str, message: str
) -> None:
    text = mini_rule("rx").replace("'(包裹|快递).{0,6}丢失'", pattern)
    assert any(message in p for p in problems(rule_dir(rx=text)))


def test_unknown_shared_signal(rule_dir: RuleDir) -> None:
    text = mini_rule("use").replace("use: offplatform_contact", "use: no_such_signal")
    assert any("unknown shared signal 'no_such_signal'" in p for p in problems(rule_dir(use=text)))


def test_rules_need_examples_of_both_kinds(rule_dir: RuleDir) -> None:
    text = mini_rule("noex").replace("  benign: [今天天气不错。, 我去取快递。]\n", "")
    assert any("examples.benign" in p for p in problems(rule_dir(noex=text)))


def test_deprecated_and_underscore_files_are_not_rules(rule_dir: RuleDir) -> None:
    d = rule_dir(live=mini_rule("live"))
    (d / "_deprecated").mkdir()
    (d / "_deprecated" / "old.yaml").write_text("not: [valid", encoding="utf-8")
    engine = Engine.from_dir(d)
    assert [cr.rule.id for cr in engine.rules.rules] == ["live"]


def test_the_fast_loader_reads_every_bundled_file_as_the_pure_python_one_does() -> None:
    """Rule files are parsed with libyaml (several times faster) and composed in Python so the
    alias and depth checks still apply: same data, same line of every value."""
    from bot.engine import loader
    from tests.conftest import ROOT

    files = sorted((ROOT / "rules").rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        results = []
        for make in (loader._NoAliasLoader, loader._FastNoAliasLoader):
            parser = make(text)
            try:
                lines: dict[tuple[object, ...], int] = {}
                data = loader._to_python(parser.get_single_node(), (), lines, str(path))
            finally:
                parser.dispose()
            results.append((data, lines))
        assert results[0] == results[1], path


def test_regional_advice_replaces_the_advice_for_that_region_only(rule_dir: RuleDir) -> None:
    regional = "regional_advice:\n  TW:\n    zh: [只給台灣讀者]\n    en: [for Taiwan only]\n"
    text = mini_rule("reg").replace("examples:", regional + "examples:")
    engine = Engine.from_dir(rule_dir(reg=text))
    verdict = engine.check("您好，我是快递理赔专员，您的包裹丢失了，请加微信办理三倍理赔")
    assert verdict.rule is not None
    assert verdict.advice_for("TW") == (("只給台灣讀者",), ("for Taiwan only",))
    assert verdict.advice_for("HK") == (verdict.advice_zh, verdict.advice_en)
    bad = text.replace("  TW:", "  Taiwan:")
    found = problems(rule_dir(reg=bad))
    assert any("reg.yaml:" in p and "region codes" in p for p in found), found


def test_advice_when_names_only_this_rules_stages_and_signals(rule_dir: RuleDir) -> None:
    two = "advice:\n  zh: [挂断电话。, 别理赔。]\n  en: [Hang up., No claims.]\n"
    base = mini_rule("when").replace(
        "advice:\n  zh: [挂断电话。]\n  en: [Hang up.]\n", two + "  when: {2: [NAME]}\n"
    )
    found = problems(rule_dir(when=base.replace("NAME", "nowhere")))
    assert any("when.yaml" in p and "nowhere" in p for p in found), found
    found = problems(rule_dir(when=base.replace("NAME", "pretext").replace("2: [", "3: [")))
    assert any("when.yaml" in p and "positions [3]" in p for p in found), found
    engine = Engine.from_dir(rule_dir(when=base.replace("NAME", "offer")))
    assert engine.check("您的包裹丢失了，我们三倍理赔。").advice_en == ("No claims.", "Hang up.")
    no_offer = engine.check("您的包裹丢失了，请加微信 abc_12345 联系我")
    assert no_offer.rule is not None and no_offer.advice_en == ("Hang up.",), no_offer
    # A regional list replaces the whole advice, so `when` could not apply to it: refused.
    both = (
        base.replace("NAME", "offer") + "regional_advice:\n  TW: {zh: [只給台灣], en: [Taiwan]}\n"
    )
    found = problems(rule_dir(when=both))
    assert any("when.yaml" in p and "cannot be combined" in p for p in found), found
