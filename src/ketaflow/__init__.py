"""ketaflow: clinic platform for IV ketamine infusion therapy in treatment-resistant bipolar depression."""

__version__ = "0.1.0"
