"""Write a benchmark's results as JSON and Markdown, with the machine recorded."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fersk.environment import environment_info

RESULTS = Path(__file__).parent / "results"


def write_results(name: str, settings: dict, results: object, markdown: str,
                  out_dir: str | Path = RESULTS) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` under ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = environment_info()
    record = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "environment": env,
        "settings": settings,
        "results": results,
    }
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps(record, indent=2, default=str))
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v)
    md_path.write_text(
        f"# {name}\n\n{markdown.strip()}\n\n"
        f"Settings: `{json.dumps(settings, default=str)}`\n\n"
        f"Machine: {env['cpu']} ({env['cpu_count']} cores), {env['machine']}, "
        f"Python {env['python']}; {packages}. Measured {record['date']}.\n"
    )
    return json_path, md_path
