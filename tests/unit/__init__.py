"""Tests of one module or component, laid out like src/vadlit; none of them trains a model."""
