"""Markdown tables from `mmgap selfcheck --json` output files.

Usage: python benchmarks/selfcheck_table.py RESULT.json [RESULT.json ...]
"""

import json
import sys


def main(paths):
    for path in paths:
        d = json.load(open(path))
        print(f"### {d['dataset']}, method `{d['method']}`: "
              f"{'all three tests pass' if d['passed'] else 'FAIL'}")
        print()
        print(f"n = {d['n_samples']} per estimate, sigma = {d['sigma']}, seed {d['seed']}, "
              f"{d.get('n_steps', '?')} steps, wall time {d['seconds'] / 60:.1f} min.")
        print()
        for name, t in d["tests"].items():
            print(f"**{name}** ({t['criterion']}): {'pass' if t['passed'] else 'FAIL'}")
            print()
            print("| r | numerator (nats) | denominator (nats) | ratio | ideal |")
            print("|---|---|---|---|---|")
            for p in t["points"]:
                num, den = p["numerator"], p["denominator"]
                flag = "" if p["passed"] else " ✗"
                print(f"| {p['r']} | {num['mi']:.3f} ± {num['stderr']:.3f} | "
                      f"{den['mi']:.3f} ± {den['stderr']:.3f} | "
                      f"{p['ratio']:.3f} ± {p['ratio_stderr']:.3f}{flag} | {p['ideal']:g} |")
            print()


if __name__ == "__main__":
    main(sys.argv[1:])
