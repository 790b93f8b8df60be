// Shift hand-over (docs/workflow.md, "Shift hand-over"): choosing "offline" with open
// conversations opens this dialog — a note for whoever continues, the conversations
// (all ticked), and where they go: the team queue or a colleague. POST /handover
// transfers each with the note (a hand-off note in its thread) and sets me offline.
// Cancelling keeps everything as it was. Closing the tab still requeues after the
// grace period, as before.
import { api } from "../api.js";
import { field, modal, toast } from "../dialogs.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

/**
 * me: the signed-in user; convs: my open conversations; users(): the directory.
 * Resolves true when handed over (the hub has set me offline), false if cancelled.
 */
export async function handoverDialog({ me, convs, users }) {
  const note = h("textarea", { name: "note", id: "ho-note", rows: 3, maxlength: 2000, dir: "auto" });
  const teams = new Set(convs.map((c) => c.team_id).filter((id) => id !== null));
  // A colleague must be in every chosen conversation's team (the hub checks it too).
  const colleagues = [...users().values()]
    .filter((u) => u.id !== me.id && u.active !== false && [...teams].every((id) => (u.team_ids || []).includes(id)))
    .sort((a, b) => a.name.localeCompare(b.name));
  const to = h("select", { name: "to", id: "ho-to" },
    h("option", { value: "queue" }, t("tk_ho_queue")),
    colleagues.map((u) => h("option", { value: String(u.id) }, `${u.name} · ${t(`presence_${u.presence || "offline"}`)}`)));
  const boxes = convs.map((c) => h("input", { type: "checkbox", name: "conversation_ids", value: String(c.id), checked: true, id: `ho-c-${c.id}` }));
  const list = h("fieldset", { class: "ho-list", id: "ho-list" },
    h("legend", {}, t("tk_ho_conversations")),
    convs.map((c, i) => h("label", { class: "ho-conv", for: boxes[i].id }, boxes[i],
      h("bdi", { dir: "auto" }, c.contact_name || c.contact_address || `#${c.id}`), h("span", { class: "muted" }, ` #${c.id}`))));
  let result = null;
  const ok = await modal({
    title: t("tk_ho_title"),
    id: "ho-dialog",
    submitLabel: t("tk_ho_submit"),
    body: h("div", { class: "stack" },
      h("p", {}, t("tk_ho_intro", { n: convs.length })),
      list,
      field(t("tk_ho_note"), note),
      field(t("tk_ho_to"), to)),
    onSubmit: async () => {
      const ids = boxes.filter((b) => b.checked).map((b) => Number(b.value));
      result = await api("/handover", {
        method: "POST",
        body: { note: note.value, to: to.value === "queue" ? "queue" : Number(to.value), conversation_ids: ids },
      });
    },
  });
  if (!ok) return false;
  toast(t("tk_ho_done", { n: result.moved.length }));
  if (result.failed.length) toast(t("tk_ho_failed", { n: result.failed.length }), { kind: "warn", ms: 10000 });
  return true;
}
