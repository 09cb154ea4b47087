fetch("/api/health").then((r) => r.json()).then((h) => {
  document.getElementById("health").textContent = `${h.status}, database ${h.database}, model server ${h.llm.reachable ? "reachable" : "unreachable"}`;
}).catch(() => { document.getElementById("health").textContent = "unavailable"; });
