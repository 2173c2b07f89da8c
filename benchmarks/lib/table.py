"""Prints a benchmark script's result table: aligned text for the terminal, then Markdown for
the README, which is also written to a file. Used by the Python parts of benchmarks/*.sh:

    PYTHONPATH="$script_dir/lib" python3 - ... <<'PY'
    from table import print_table
    print_table(caption, header, rows, notes, md_path)
    PY

rows are lists of strings (header's length); the first column is left-aligned, the others
right-aligned.
"""


def print_table(caption, header, rows, notes=(), md_path=None):
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    print(caption)
    print()
    for i, r in enumerate([header] + rows):
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for n in notes:
        print(n)

    md = [caption, "", "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    md += [""] + list(notes) if notes else []
    if md_path:
        with open(md_path, "w") as f:
            f.write("\n".join(md) + "\n")
    print()
    print("Markdown:")
    print()
    print("\n".join(md))
