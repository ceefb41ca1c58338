/// The live dashboard served at `/`: one Plotly.js line per key of the chosen topic (`wiener` by
/// default) and a panel for `metronome`. Each panel replays the last five minutes from the log,
/// then follows `/ws/topics/{topic}`, draws at 10 Hz, and on reconnect resumes from the next
/// offset of every partition it has seen, so nothing is drawn twice or missed. When the project
/// declares tokens, the page first asks for one and posts it to `/login`, which answers with an
/// HttpOnly session cookie: the token never appears in a URL, and the page's script never keeps it.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Firestream</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
          body { font: 14px system-ui, sans-serif; margin: 0; background: #fafafa; color: #222; }
          header { display: flex; gap: 16px; align-items: center; padding: 10px 16px; background: #1d2733; color: #fff; }
          header h1 { font-size: 18px; margin: 0 12px 0 0; }
          header label, header button, header select { font: inherit; }
          .status { padding: 2px 8px; border-radius: 10px; background: #666; }
          .status.live { background: #2e7d32; } .status.reconnecting { background: #c62828; } .status.paused { background: #f9a825; color: #222; }
          main { padding: 8px 16px; }
          .panel { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 8px 0; padding: 6px; }
          .panel h2 { font-size: 15px; margin: 4px 8px; display: flex; gap: 16px; }
          .panel h2 span { font-weight: normal; color: #555; }
          .plot { height: 380px; } .plot.small { height: 260px; }
          #login { display: none; max-width: 28em; margin: 60px auto; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 20px; }
          #login input { width: 100%; box-sizing: border-box; font: inherit; padding: 6px; margin: 8px 0; }
          #login .error { color: #c62828; min-height: 1.2em; }
          #signout { display: none; margin-left: auto; }
        </style>
        <script src="/plotly.min.js"></script>
        </head>
        <body>
        <header>
          <h1>Firestream</h1>
          <label>Topic <select id="topic"></select></label>
          <button id="pause">Pause</button>
          <span id="status" class="status">connecting</span>
          <button id="signout">Sign out</button>
        </header>
        <form id="login">
          <h2>Sign in</h2>
          <p>This project requires a token (<code>firestream token create</code>).</p>
          <input id="token" type="password" autocomplete="current-password" placeholder="fst_…" aria-label="token">
          <div class="error" id="login-error"></div>
          <button type="submit">Sign in</button>
        </form>
        <main>
          <section class="panel"><h2 id="main-title">wiener <span id="main-rate">0 events/s</span><span id="main-count"></span></h2><div id="main-plot" class="plot"></div></section>
          <section class="panel"><h2>metronome <span id="side-rate">0 events/s</span><span id="side-count"></span></h2><div id="side-plot" class="plot small"></div></section>
        </main>
        <script>
        "use strict";
        const WINDOW_MS = 5 * 60 * 1000;
        const FIELDS = { wiener: "measurement", metronome: "magnitude" };
        const state = { paused: false, panels: {} };
        window.firestream = state;

        function numericField(value, topic) {
          if (value === null || typeof value !== "object") return typeof value === "number" ? value : null;
          const preferred = FIELDS[topic];
          if (preferred && typeof value[preferred] === "number") return value[preferred];
          for (const k of Object.keys(value)) if (typeof value[k] === "number" && !/time|index|offset/.test(k)) return value[k];
          return null;
        }

        class Panel {
          constructor(topic, plotId, rateId, countId) {
            Object.assign(this, { topic, plotId, rateId, countId });
            this.next = {};          // partition -> next offset wanted (resume point)
            this.traces = {};        // key -> trace index
            this.pending = {};       // key -> {x: [], y: []} not drawn yet
            this.received = 0; this.duplicates = 0; this.holes = 0; this.gaps = 0; this.connections = 0;
            this.recent = [];        // arrival times for events/s
            this.retry = 500; this.closed = false;
            Plotly.newPlot(plotId, [], { margin: { t: 10, r: 10, b: 40, l: 50 }, xaxis: { type: "date" }, showlegend: true }, { responsive: true });
            this.connect();
          }
          url() {
            const parts = Object.keys(this.next).map(p => p + ":" + this.next[p]);
            const query = parts.length ? "from=" + parts.join(",") : "since=5m";
            return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/topics/" + encodeURIComponent(this.topic) + "?" + query;
          }
          connect() {
            if (this.closed) return;
            const ws = new WebSocket(this.url());
            this.ws = ws;
            ws.onopen = () => { this.connections += 1; this.retry = 500; updateStatus(); };
            ws.onmessage = event => this.onFrame(JSON.parse(event.data));
            ws.onclose = () => {
              if (this.ws !== ws) return;
              this.ws = null; updateStatus();
              if (!this.closed) setTimeout(async () => {
                // A session that expired: sign in again before reconnecting.
                const status = await session();
                if (status.required && !status.authenticated) await signIn();
                this.connect();
              }, this.retry);
              this.retry = Math.min(this.retry * 2, 5000);
            };
          }
          close() { this.closed = true; if (this.ws) this.ws.close(); Plotly.purge(this.plotId); }
          onFrame(frame) {
            if (Array.isArray(frame)) { for (const r of frame) this.onRecord(r); return; }
            if (frame.subscribed) {
              for (const p of frame.subscribed.partitions) if (!(p.partition in this.next)) this.next[p.partition] = p.from;
              return;
            }
            if (frame.gap) { this.gaps += 1; this.next[frame.gap.partition] = frame.gap.to; return; }
            this.onRecord(frame);
          }
          onRecord(r) {
            const expected = this.next[r.partition];
            if (expected !== undefined && r.offset < expected) { this.duplicates += 1; return; }
            if (expected !== undefined && r.offset > expected) this.holes += 1;
            this.next[r.partition] = r.offset + 1;
            this.received += 1;
            this.recent.push(performance.now());
            const y = numericField(r.value, this.topic);
            if (y === null) return;
            const t = (r.value && typeof r.value.event_time === "number") ? r.value.event_time : r.timestamp;
            const key = r.key !== null ? r.key : (r.value && r.value.device_id) || "value";
            const p = this.pending[key] || (this.pending[key] = { x: [], y: [] });
            p.x.push(new Date(t)); p.y.push(y);
          }
          draw() {
            const now = performance.now();
            while (this.recent.length && now - this.recent[0] > 1000) this.recent.shift();
            document.getElementById(this.rateId).textContent = this.recent.length + " events/s";
            document.getElementById(this.countId).textContent = this.received + " received" + (this.gaps ? ", " + this.gaps + " gaps" : "");
            if (state.paused) return;
            const keys = Object.keys(this.pending);
            if (!keys.length) return;
            const fresh = keys.filter(k => !(k in this.traces)).sort();
            if (fresh.length) {
              const base = Object.keys(this.traces).length;
              fresh.forEach((k, i) => { this.traces[k] = base + i; });
              Plotly.addTraces(this.plotId, fresh.map(k => ({ name: k, mode: "lines", x: [], y: [] })));
            }
            const indices = keys.map(k => this.traces[k]);
            const update = { x: keys.map(k => this.pending[k].x), y: keys.map(k => this.pending[k].y) };
            this.pending = {};
            Plotly.extendTraces(this.plotId, update, indices);
            const end = Date.now();
            Plotly.relayout(this.plotId, { "xaxis.range": [new Date(end - WINDOW_MS), new Date(end)] });
            this.trim(end - WINDOW_MS);
          }
          trim(cutoff) {
            const div = document.getElementById(this.plotId);
            for (const trace of div.data) {
              let drop = 0;
              while (drop < trace.x.length && trace.x[drop] < cutoff) drop++;
              if (drop > 0) { trace.x.splice(0, drop); trace.y.splice(0, drop); }
            }
          }
          pointCounts() { return document.getElementById(this.plotId).data.map(t => t.x.length); }
        }

        function updateStatus() {
          const el = document.getElementById("status");
          const panels = Object.values(state.panels);
          const live = panels.every(p => p.ws && p.ws.readyState === WebSocket.OPEN);
          const text = state.paused ? "paused" : live ? "live" : "reconnecting";
          el.textContent = text; el.className = "status " + text;
        }

        function showTopic(topic) {
          if (state.panels.main) state.panels.main.close();
          document.getElementById("main-title").firstChild.textContent = topic + " ";
          state.panels.main = new Panel(topic, "main-plot", "main-rate", "main-count");
          history.replaceState(null, "", "?topic=" + encodeURIComponent(topic));
        }

        async function session() {
          try { return await (await fetch("/session", { credentials: "same-origin" })).json(); }
          catch (e) { return { required: false, authenticated: true }; }
        }

        // Shows the sign-in form until a token is accepted; the cookie does the rest. Panels
        // that lose their connection at the same time share one form.
        let signingIn = null;
        function signIn() {
          if (signingIn) return signingIn;
          signingIn = new Promise(resolve => {
            const form = document.getElementById("login");
            document.querySelector("main").style.display = "none";
            form.style.display = "block";
            form.onsubmit = async event => {
              event.preventDefault();
              const input = document.getElementById("token");
              const answer = await fetch("/login", {
                method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
                body: JSON.stringify({ token: input.value })
              });
              input.value = "";
              if (!answer.ok) { document.getElementById("login-error").textContent = (await answer.json()).error; return; }
              form.style.display = "none";
              document.querySelector("main").style.display = "";
              signingIn = null;
              resolve();
            };
          });
          return signingIn;
        }

        async function start() {
          const status = await session();
          if (status.required && !status.authenticated) await signIn();
          if (status.required) {
            const out = document.getElementById("signout");
            out.style.display = "inline";
            out.onclick = async () => { await fetch("/logout", { method: "POST", credentials: "same-origin" }); location.reload(); };
          }
          const chosen = new URLSearchParams(location.search).get("topic") || "wiener";
          const select = document.getElementById("topic");
          try {
            const listed = await (await fetch("/topics")).json();
            for (const t of listed.topics) select.add(new Option(t.name, t.name));
          } catch (e) { /* the picker stays empty; the panels still connect */ }
          if (![...select.options].some(o => o.value === chosen)) select.add(new Option(chosen, chosen));
          select.value = chosen;
          select.onchange = () => showTopic(select.value);
          document.getElementById("pause").onclick = () => {
            state.paused = !state.paused;
            document.getElementById("pause").textContent = state.paused ? "Resume" : "Pause";
            updateStatus();
          };
          showTopic(chosen);
          state.panels.side = new Panel("metronome", "side-plot", "side-rate", "side-count");
          setInterval(() => { for (const p of Object.values(state.panels)) p.draw(); updateStatus(); }, 100);
        }
        if (typeof Plotly === "undefined") {
          document.querySelector("main").innerHTML = "<p>Plotly.js did not load from /plotly.min.js.</p>";
        } else {
          start();
        }
        </script>
        </body>
        </html>
        """#

    /// The page shown instead when Plotly.js was not found.
    static func missingPlotly(_ explanation: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Firestream: Plotly.js missing</title></head>
        <body style="font: 15px system-ui, sans-serif; margin: 40px; max-width: 50em">
        <h1>The dashboard needs Plotly.js</h1>
        <p>\(explanation.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;"))</p>
        <p>Install it with <code>python3 -m pip install plotly</code> (it ships
        <code>plotly/package_data/plotly.min.js</code>), or point Firestream at a copy with
        <code>firestream up --plotly-js /path/to/plotly.min.js</code>, then restart <code>firestream up</code>.</p>
        <p>Everything else works without it: <a href="/topics">/topics</a>, <code>/ws/topics/{topic}</code>, <a href="/metrics">/metrics</a>.</p>
        </body></html>
        """
    }
}
