"""The trained model loads in a third of the time: the step that builds its weights runs eagerly.

To load a TensorFlow model (the DIET classifier here), Rasa 3.6 builds an
empty model and trains it for one step on one example, only so that every
weight exists with its shape, and then overwrites the weights from the
checkpoint. That step runs as a compiled ``tf.function``, so TensorFlow first
traces the whole training graph, gradients and the CRF entity loss included:
measured on the clinic's two cores, 24 of the 29 s that loading the model
took, on every start of ``rasa run`` (and on every restart after a crash).

Run eagerly, the same one step takes about a second and builds the same
variables (the model's and the optimizer's), which the checkpoint then
overwrites exactly as before (and loading checks that every variable took
its trained value). Everything after it is Rasa's own: the configured
``run_eagerly`` is restored before the weights are loaded, and the prediction
graph is traced as Rasa traces it. Predictions are unchanged, to the last
digit: ``python -m bench model_load`` loads one model both ways and compares.

Rasa has no hook for this, so ``RasaModel.load`` is replaced once at
start-up (``install``), for the Rasa version it was written against.
"""

from __future__ import annotations

import logging
from typing import Any

import tensorflow as tf
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

from assistant.rasa_server.rasa_version import require_supported_rasa

log = logging.getLogger(__name__)

_INSTALLED = "_assistant_builds_weights_eagerly"


def load(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: RasaModelData | None = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """``RasaModel.load`` of Rasa 3.6, but for the eager weight-building step."""
    log.debug("Loading the model from %s with finetune_mode=%s...", model_file_name, finetune_mode)
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    optimizer = tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001))
    # One step on one example, only to build the weights with their shapes; eager: nothing to trace.
    model.compile(optimizer=optimizer, run_eagerly=True)
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.compile(optimizer=optimizer, run_eagerly=config.get(RUN_EAGERLY))
    # Every variable the eager step made (the model's and the optimizer's) takes its trained value,
    # or loading fails here: what predicts is exactly what was trained.
    model.load_weights(model_file_name).assert_existing_objects_matched()
    # As Rasa does: the first prediction traces the prediction graph, here rather than in a worker's first turn.
    if not finetune_mode and predict_data_example:
        model.run_inference(predict_data_example)
    log.debug("Finished loading the model.")
    return model


def install() -> None:
    if getattr(RasaModel, _INSTALLED, False):
        return
    require_supported_rasa(__name__)
    RasaModel.load = classmethod(load)
    setattr(RasaModel, _INSTALLED, True)
