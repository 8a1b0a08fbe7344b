"""ylai's tables in the Airflow metadata database, and their Alembic migrations."""
