"""A tiny stand-in Piper voice: a real ``.onnx`` file with a Piper voice's interface.

No trained Piper voice can be downloaded here, so this builds, with the ``onnx`` library, a
model that takes what Piper gives a voice (``input`` phoneme ids ``[1, N]``,
``input_lengths`` ``[1]``, ``scales`` ``[3]``) and answers like one (``output``, float audio
``[1, 1, T]``): a 440 Hz tone of ``HOP`` samples per phoneme id at 22.05 kHz. piper-tts loads it
with onnxruntime and runs its own espeak-ng phonemizer and id mapping in front of it, exactly
as with a real voice; only the sound is not a voice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import onnx
from onnx import TensorProto, helper
from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

SAMPLE_RATE = 22050
HOP = 256


def write_voice(directory: Path, name: str = "pt_BR-teste-tiny") -> Path:
    """Write ``name.onnx`` and ``name.onnx.json`` into ``directory``; returns the model path."""
    constant = helper.make_tensor
    nodes = [
        helper.make_node("Shape", ["input"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["count"], axis=0),
        helper.make_node("Mul", ["count", "hop"], ["samples"]),
        helper.make_node("Range", ["zero", "samples", "step"], ["index"]),
        helper.make_node("Cast", ["index"], ["index_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["index_f", "omega"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["wave"]),
        helper.make_node("Mul", ["wave", "gain"], ["audio"]),
        helper.make_node("Reshape", ["audio", "out_shape"], ["output"]),
    ]
    initializers = [
        constant("one", TensorProto.INT64, [], [1]),
        constant("zero", TensorProto.INT64, [], [0]),
        constant("step", TensorProto.INT64, [], [1]),
        constant("hop", TensorProto.INT64, [], [HOP]),
        constant("omega", TensorProto.FLOAT, [], [2 * math.pi * 440 / SAMPLE_RATE]),
        constant("gain", TensorProto.FLOAT, [], [0.5]),
        constant("out_shape", TensorProto.INT64, [3], [1, 1, -1]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-piper-voice",
        [
            helper.make_tensor_value_info("input", TensorProto.INT64, [1, "phonemes"]),
            helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "samples"])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = directory / f"{name}.onnx"
    onnx.save(model, str(path))
    config = {
        "audio": {"sample_rate": SAMPLE_RATE},
        "espeak": {"voice": "pt-br"},
        "phoneme_type": "espeak",
        "num_symbols": 256,
        "num_speakers": 1,
        "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
    }
    Path(f"{path}.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return path
