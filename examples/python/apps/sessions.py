"""Click sessions with timers: a user's clicks are collected until 30 s pass without one, then
the session is written. Shows ``ctx.set_timeout`` and ``on_timeout``."""

from dataclasses import dataclass, field
from typing import List

from firestream import App, Output


@dataclass
class Session:
    start: int
    pages: List[str] = field(default_factory=list)


class Sessions(App):
    inputs = ["clicks"]
    output = "sessions"
    state_type = Session
    gap_ms = 30_000

    def key(self, click):
        return click["user"]

    def process(self, click, state, ctx):
        session = state.get() or Session(start=ctx.timestamp)
        session.pages.append(click["page"])
        state.set(session)
        ctx.set_timeout(self.gap_ms)

    def on_timeout(self, user, state, ctx):
        session = state.get()
        state.clear()
        return Output(user, {"user": user, "start": session.start, "clicks": len(session.pages), "pages": session.pages})
