"""Checks that every environment variable the rendered Helm chart gives a container is one its
binary reads: a clap `env = "NAME"` in the binary's sources, or a name under a prefix the sources
declare (`…_PREFIX: &str = "TRIBUTARY_VAR_"`, what rule SQL's getenv reads). A flag renamed in
the code, or a typo in the chart, would otherwise be ignored silently by the binary.

    python check_chart_env.py --container control-plane=control-plane/src,service-kit/src \\
        --container worker=data-plane/src,service-kit/src,rule-engine/src rendered.yaml...

Run by scripts/helm-check.sh with the Python of its kubernetes-validate virtualenv (PyYAML).
"""

import argparse
import pathlib
import re
import sys

import yaml

CLAP_ENV = re.compile(r'\benv\s*=\s*"([A-Z][A-Z0-9_]*)"')
PREFIX = re.compile(r'_PREFIX\s*:\s*&str\s*=\s*"([A-Z][A-Z0-9_]*)"')


def names_read(directories):
    """The exact names and the prefixes the Rust sources under `directories` read."""
    exact, prefixes = set(), set()
    for directory in directories:
        files = list(pathlib.Path(directory).rglob("*.rs"))
        if not files:
            raise SystemExit(f"no Rust sources under {directory}")
        for path in files:
            text = path.read_text()
            exact.update(CLAP_ENV.findall(text))
            prefixes.update(PREFIX.findall(text))
    return exact, prefixes


def containers(resource):
    spec = resource.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) + spec.get("initContainers", [])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--container", action="append", required=True,
                        help="CONTAINER=DIR[,DIR…]: the sources of the binary that container runs")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    known = {}
    for entry in args.container:
        name, _, directories = entry.partition("=")
        known[name] = names_read(directories.split(","))

    problems, checked, seen = [], 0, set()
    for path in args.files:
        with open(path) as file:
            resources = [r for r in yaml.safe_load_all(file) if r]
        for resource in resources:
            for container in containers(resource):
                if container["name"] not in known:
                    continue
                seen.add(container["name"])
                exact, prefixes = known[container["name"]]
                for variable in container.get("env", []):
                    checked += 1
                    name = variable["name"]
                    if name not in exact and not any(name.startswith(p) for p in prefixes):
                        problems.append(f"{path}: {resource['kind']}/{resource['metadata']['name']}: "
                                        f"container {container['name']} gets {name}, which its binary does not read")
    unread = len(problems)
    missing = set(known) - seen
    if missing:
        problems.append(f"no container named {', '.join(sorted(missing))} in the rendered manifests")
    for problem in problems:
        print(f"ERROR {problem}")
    print(f"{checked - unread} of {checked} environment variables are read by their binary")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
