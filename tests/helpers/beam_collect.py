"""Collect PCollections out of a TestPipeline for plain asserts (runners pickle closures,
so in-memory side effects are not reliable): each element is pickled to a file."""
import base64
import glob
import os
import pickle

import apache_beam as beam


def collect_to(pcoll, directory: str, name: str):
    path = os.path.join(directory, f"collect-{name}")
    return (pcoll
            | f"Pickle_{name}" >> beam.Map(lambda x: base64.b64encode(pickle.dumps(x)).decode("ascii"))
            | f"Write_{name}" >> beam.io.WriteToText(path, file_name_suffix=".txt"))


def read_collected(directory: str, name: str) -> list:
    out = []
    for path in sorted(glob.glob(os.path.join(directory, f"collect-{name}*.txt"))):
        with open(path) as f:
            out.extend(pickle.loads(base64.b64decode(line)) for line in f if line.strip())
    return out
