"""The Post-mortem screen: KPI tiles in their status colours, the funnel, channel and creative tables,
attribution compared across models, the driver waterfall, callouts with their money impact, findings
with their three checks, the action plan, proposing a decision, replay and diff, and the HTML export.

The figures come from the report data the run logged (`GET /postmortems/{id}/data`), the same numbers
the HTML report draws; the findings' taint and drift marks and the action items' owners, due dates and
statuses come from the graph (`GET /postmortems/{id}`), because those change after the run. A run
logged before report data was kept answers 404: the screen says so and shows what the graph holds.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import actions, charts, findings, navigation, proposals, replay, session
from ui.client import Api, ApiError
from ui.library import similar_list
from ui.markup import delta_colour, md, status_colour

TILE_COLUMNS = 4


def render() -> None:
    st.title("Post-mortem")
    api = session.api()
    postmortem_id = _pick(api)
    if postmortem_id is None:
        return
    view = session.call(lambda: api.postmortem(postmortem_id), "Post-mortem")
    if view is None:
        return
    data = _report_data(api, postmortem_id)
    _header(api, view, data)
    roles = session.roles()
    names = ["Scorecard", "Channels & creatives", "Attribution & drivers", "Findings", "Action plan"]
    if navigation.may_analyse(roles):
        names.append("Propose a decision")
    names += ["Replay & diff", "Similar"]
    # Keyed and tracked, so the tab stays selected through the rerun that follows a save or a proposal.
    tabs = dict(zip(names, st.tabs(names, key="pm_tab", on_change="rerun"), strict=True))
    with tabs["Scorecard"]:
        _scorecard(data, view)
    with tabs["Channels & creatives"]:
        _tables(data)
    with tabs["Attribution & drivers"]:
        _attribution(data)
    with tabs["Findings"]:
        findings.render(view, data)
    with tabs["Action plan"]:
        actions.render(api, view, data, editable=navigation.may_analyse(roles))
    if "Propose a decision" in tabs:
        with tabs["Propose a decision"]:
            proposals.render(api, view, data)
    with tabs["Replay & diff"]:
        replay.render(api, view, may_replay=navigation.may_analyse(roles))
    with tabs["Similar"]:
        st.subheader("Similar post-mortems")
        similar_list(api, postmortem_id, key="pm")


def _pick(api: Api) -> str | None:
    """The open post-mortem: the one opened from the library, or chosen here."""
    listed = session.call(api.postmortems, "Post-mortems")
    if listed is None:
        return None
    if not listed:
        st.info("No post-mortem yet: an analyst runs one with `warrant postmortem run CAMPAIGN`.")
        return None
    # The id's last part (the run) keeps a replay apart from its original: same title, same day.
    titles = {
        p["id"]: f"{p.get('title') or p['id']} · {p.get('status', '')} · "
        f"{p.get('created_at', '')[:16].replace('T', ' ')} · {p['id'].rsplit(':', 1)[-1]}"
        for p in listed
    }
    wanted = st.session_state.get(session.OPEN_POSTMORTEM)
    if wanted and wanted not in titles:
        titles[wanted] = wanted  # opened from the library before this list knew it
    if st.session_state.get("pm_picker") not in titles:
        st.session_state["pm_picker"] = wanted if wanted in titles else next(iter(titles))
    elif wanted and st.session_state["pm_picker"] != wanted:
        st.session_state["pm_picker"] = wanted

    def chosen() -> None:
        st.session_state[session.OPEN_POSTMORTEM] = st.session_state["pm_picker"]

    picked = st.selectbox(
        "Post-mortem", list(titles), key="pm_picker", format_func=titles.get, on_change=chosen
    )
    st.session_state[session.OPEN_POSTMORTEM] = picked
    return str(picked)


def _report_data(api: Api, postmortem_id: str) -> dict[str, Any] | None:
    try:
        return session.frozen(("data", postmortem_id), lambda: api.postmortem_data(postmortem_id))
    except ApiError as exc:
        if exc.status == 404:
            st.info(
                f"{exc.detail}. Showing the findings and action plan the graph holds.", icon=":material/info:"
            )
        else:
            session.show_error(exc, "Report data")
        return None


def _header(api: Api, view: dict[str, Any], data: dict[str, Any] | None) -> None:
    title, export = st.columns([2.5, 1], vertical_alignment="bottom")
    with title:
        st.header(md(data["title"] if data else view["title"]))
        badge = "green" if view.get("status") == "published" else "gray"
        st.markdown(
            f":{badge}-badge[{md(view.get('status', 'draft'))}] "
            f"campaign **{md(view.get('campaign_id') or '-')}** · "
            f"created {md(view.get('created_at', '')[:16].replace('T', ' '))}"
            + (f" · replay of {md(view['replay_of'])}" if view.get("replay_of") else "")
        )
        if data and data.get("subtitle"):
            st.caption(data["subtitle"])
    with export:
        postmortem_id = view["id"]

        def html() -> bytes:
            try:
                return session.frozen(("html", postmortem_id), lambda: api.report_html(postmortem_id))
            except ApiError as exc:
                return f"<!doctype html><p>The report could not be exported: {exc.detail}</p>".encode()

        st.download_button(
            "Download HTML report",
            data=html,
            file_name=f"{postmortem_id.replace(':', '_')}.html",
            mime="text/html",
            key="export_html",
            icon=":material/download:",
            on_click="ignore",
        )
    if data and data.get("assumptions"):
        with st.expander("Assumptions used"):
            st.markdown("\n".join(f"- {md(a)}" for a in data["assumptions"]))


def _scorecard(data: dict[str, Any] | None, view: dict[str, Any]) -> None:
    if data is None:
        st.markdown(md(view.get("summary") or "No scorecard was logged with this run."))
        return
    st.subheader("KPI scorecard")
    tiles = data.get("tiles", [])
    for start in range(0, len(tiles), TILE_COLUMNS):
        for column, tile in zip(st.columns(TILE_COLUMNS), tiles[start : start + TILE_COLUMNS], strict=False):
            with column, st.container(border=True):
                _tile(tile)
    _callouts(data.get("findings", []))
    if data.get("funnel"):
        st.subheader("Funnel")
        st.altair_chart(charts.funnel(data["funnel"]), width="stretch")
        st.caption("Conversion from the previous stage: grey the historical baseline, blue this campaign.")
    if data.get("data_quality"):
        with st.expander(f"Data quality notes ({len(data['data_quality'])})"):
            st.markdown("\n".join(f"- {md(n)}" for n in data["data_quality"]))


def _tile(tile: dict[str, Any]) -> None:
    """One KPI: the value (its interval and plan below), the variance coloured by whether it is adverse
    for that metric, and the status badge in the report's colour."""
    actual = str(tile.get("actual", ""))
    value, _, interval = actual.partition(" [")
    insufficient = value.startswith("insufficient")
    variance = tile.get("variance", "-")
    status = tile.get("status", "no plan")
    st.metric(
        tile["metric"],
        "n/a" if insufficient else value,
        delta=variance if variance not in ("-", "") else None,
        delta_color=delta_colour(status),
        help=tile.get("note") or None,
    )
    detail = []
    if tile.get("plan") not in (None, "", "-"):
        detail.append(f"plan {tile['plan']}")
    if interval:
        detail.append(f"95% interval [{interval}")
    elif insufficient:
        detail.append(actual)
    line = f":{status_colour(status)}-badge[{md(status)}]"
    if detail:
        line += f"  \n:small[{md(' · '.join(detail))}]"
    st.markdown(line)


def _callouts(found: list[dict[str, Any]]) -> None:
    """The findings with the largest money impact, as the report's callouts."""
    priced = [f for f in found if (f.get("money_impact") or {}).get("value") is not None]
    priced.sort(key=lambda f: -abs(f["money_impact"]["value"]))
    if not priced:
        return
    st.subheader("Callouts")
    for f in priced[:3]:
        impact = findings.money_text(f["money_impact"])
        if f.get("direction") == "win":
            badge = ":green-badge[:material/trending_up: win]"
        elif f.get("checks") and not _passed(f["checks"]):
            badge = ":gray-badge[:material/help: hypothesis: fails a check]"
        else:
            badge = ":red-badge[:material/trending_down: underperformance]"
        with st.container(border=True):
            st.markdown(
                f"{badge} **{md(f['title'])}** · money impact **{md(impact)}**  \n{md(f['statement'])}"
            )


def _passed(checks: dict[str, Any]) -> bool:
    return bool(
        checks.get("sample_size_ok") and checks.get("confounders_ok", True) and checks.get("actionable", True)
    )


def _tables(data: dict[str, Any] | None) -> None:
    if data is None:
        st.caption("No channel or creative tables were logged with this run.")
        return
    for title, columns, rows in (
        ("Channels", data.get("channel_columns", []), data.get("channel_rows", [])),
        ("Creatives", data.get("creative_columns", []), data.get("creative_rows", [])),
    ):
        st.subheader(title)
        if not rows:
            st.caption(f"No {title.lower()} table in this run.")
            continue
        st.dataframe(
            [dict(zip(columns, row, strict=False)) for row in rows],
            hide_index=True,
            width="stretch",
            column_config=_segment_columns(columns),
        )
    st.caption("Ranked by pipeline contribution, not CTR; intervals in brackets.")


# Pixel widths that keep the seven segment columns inside 820 pixels (the page at 1280 wide); a longer
# creative name or an "insufficient data" reason shows in full on hover.
_WIDTHS = {"spend": 70, "leads": 55, "MQL rate": 160, "pipeline": 80, "cost per MQL": 150, "rank": 45}


def _segment_columns(columns: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {
        c: st.column_config.TextColumn(width=w) for c, w in _WIDTHS.items() if c in columns
    }
    if columns:
        config[columns[0]] = st.column_config.TextColumn(width=230, pinned=True)
    return config


def _attribution(data: dict[str, Any] | None) -> None:
    if data is None:
        st.caption("No attribution or driver figures were logged with this run.")
        return
    st.subheader("Attribution: share of conversions by model")
    if data.get("attribution"):
        st.altair_chart(
            charts.attribution(data.get("attribution_models", []), data["attribution"]), width="stretch"
        )
    else:
        st.caption("No attribution in this run.")
    st.subheader("Drivers" + (f": {data['waterfall_title']}" if data.get("waterfall_title") else ""))
    if data.get("waterfall"):
        st.altair_chart(charts.waterfall(data["waterfall"]), width="stretch")
        st.caption("Mix (volume shifted) and rate effects within each segment add up to the total change.")
    else:
        st.caption("No driver decomposition in this run.")
