"""ketaflow: a clinic platform for IV ketamine therapy in treatment-resistant bipolar depression."""

__version__ = "0.1.0"
