"""Customer Propensity dashboard: `streamlit run serving/dashboard/app.py` or `propensity dashboard`."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Customer Propensity", page_icon="📉", layout="wide")
navigation = st.navigation(
    [
        st.Page(PAGES / "overview.py", title="Overview", icon="📊", default=True),
        st.Page(PAGES / "segments.py", title="Segments", icon="🧩"),
        st.Page(PAGES / "customer_lookup.py", title="Customer lookup", icon="🔎"),
    ]
)
navigation.run()
