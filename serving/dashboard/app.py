"""Customer Propensity dashboard: `propensity dashboard` or `streamlit run` on this file."""

from pathlib import Path

import streamlit as st

# not "pages/": Streamlit would also auto-discover that folder and bypass st.navigation
PAGES = Path(__file__).parent / "views"

st.set_page_config(
    page_title="Customer Propensity", page_icon=":material/trending_down:", layout="wide"
)
navigation = st.navigation(
    [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/bar_chart:", default=True),
        st.Page(PAGES / "segments.py", title="Segments", icon=":material/scatter_plot:"),
        st.Page(PAGES / "customer_lookup.py", title="Customer lookup", icon=":material/search:"),
        st.Page(PAGES / "model.py", title="Model", icon=":material/verified:"),
    ]
)
navigation.run()
