"""Read-only data access for the dashboards (plain functions, testable without Streamlit)."""
