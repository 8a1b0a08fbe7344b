"""ylai Airflow plugin."""
