"""ylai's REST API, mounted on Airflow's api-server at ``/ylai``."""
