"""An HTML report of a fitted search: the plots of ``sgdtune.plot`` as PNG files
and an ``index.html`` that shows them with the leaderboard."""

from __future__ import annotations

import html
import os

import numpy as np


def write_report(search, directory, title="sgdtune search", top=20):
    """Write the report of a fitted search into ``directory``; returns the path
    of its index.html."""
    from . import plot

    plt = plot._plt()
    os.makedirs(directory, exist_ok=True)
    images = []
    for name, make in plot.PLOTS.items():
        fig = make(search)
        path = os.path.join(directory, f"{name}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        images.append(f"{name}.png")
    metric = plot._metric(search)
    r = search.cv_results_
    scores = np.asarray(r[f"mean_test_{metric}"], dtype=float)
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:top]
    names = sorted({k for p in r["params"] for k in p})
    head = "".join(f"<th>{html.escape(n)}</th>" for n in
                   ["trial", f"mean {metric}", "std", "status", *names])
    rows = []
    for i in order:
        cells = [str(i), f"{scores[i]:.4f}", f"{r[f'std_test_{metric}'][i]:.4f}",
                 html.escape(str(r["status"][i])) if "status" in r else "",
                 *[html.escape(_fmt(r["params"][i].get(n))) for n in names]]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    best = getattr(search, "best_score_", None)
    summary = (f"{len(scores)} trials; best mean CV {metric}: "
               f"{best:.4f}" if best is not None else f"{len(scores)} trials")
    figures = "\n".join(f'<figure><img src="{src}" alt="{src}"></figure>' for src in images)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
th {{ background: #f2f2f2; }}
figure {{ display: inline-block; margin: 0.5em; }}
img {{ max-width: 100%; border: 1px solid #eee; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(summary)}; the search was a {html.escape(type(search).__name__)}.</p>
<h2>Leaderboard (top {len(order)})</h2>
<table><tr>{head}</tr>
{chr(10).join(rows)}
</table>
<h2>Plots</h2>
{figures}
</body></html>
"""
    index = os.path.join(directory, "index.html")
    with open(index, "w", encoding="utf-8") as fh:
        fh.write(page)
    return index


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)
