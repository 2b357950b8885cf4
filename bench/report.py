"""How the side-by-side benchmarks (delivery.py, interactive.py) print and keep their tables."""

from __future__ import annotations

from pathlib import Path


def aligned_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, readable as text and as a Markdown table."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def publish(title: str, table: str, path: Path) -> None:
    """Print the result and write it to bench/results/ (ignored by git: it is this machine's)."""
    out = f"{title}\n\n{table}\n"
    print()
    print(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out, encoding="utf-8")
