"""Generated docs stay in step with the code."""

from pathlib import Path

from simulation.config.docs import scenario_reference_markdown
from simulation.config.schema import LabConfig, SegmentConfig, WorldConfig

ROOT = Path(__file__).resolve().parents[1]


def test_scenarios_page_is_up_to_date() -> None:
    page = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert page == scenario_reference_markdown(), "run: python -m simulation.config.docs > docs/scenarios.md"


def test_scenarios_page_lists_every_key() -> None:
    page = scenario_reference_markdown()
    for model in (LabConfig, SegmentConfig, WorldConfig):
        for name in model.model_fields:
            assert f"| `{name}` |" in page, name


def test_parameters_page_mentions_every_world_lab_and_segment_parameter() -> None:
    page = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    missing = [n for m in (LabConfig, SegmentConfig, WorldConfig) for n in m.model_fields if n not in page]
    assert not missing, missing
