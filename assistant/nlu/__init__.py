"""Language understanding helpers shared by the Rasa pipeline and the action server.

Keep this package free of Rasa imports: the action server and the voice loop
import ``assistant.core.canonical`` without loading TensorFlow.
"""
