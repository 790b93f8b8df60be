// "Open complaint" from a conversation: category and its sub-category, severity, what
// happened, an order or product reference, who follows it. The hub acknowledges it to
// the customer on their channel with the reference and expected date.
import { api } from "../api.js";
import { field, modal } from "../dialogs.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { loadOptions, optionText, optionsOf } from "./common.js";

/** Resolves with the new complaint, or null when cancelled. */
export async function openComplaintDialog(conv, { me }) {
  await loadOptions();
  const category = h("select", { name: "category", id: "oc-category" },
    h("option", { value: "" }, "—"),
    optionsOf("category", { parent: null }).map((o) => h("option", { value: o.key }, optionText(o))));
  const subcategory = h("select", { name: "subcategory", id: "oc-subcategory", disabled: true });
  const fillSubs = () => {
    const subs = category.value ? optionsOf("category", { parent: category.value }) : [];
    mount(subcategory, h("option", { value: "" }, "—"), subs.map((o) => h("option", { value: o.key }, optionText(o))));
    subcategory.disabled = !subs.length;
  };
  fillSubs();
  category.addEventListener("change", fillSubs);
  const severities = optionsOf("severity");
  const severity = h("select", { name: "severity", id: "oc-severity" },
    h("option", { value: "" }, "—"),
    severities.map((o) => h("option", { value: o.key, selected: o.key === "medium" }, optionText(o))));
  const description = h("textarea", { name: "description", id: "oc-description", rows: 4, dir: "auto", maxlength: 8000 });
  const product = h("input", { name: "product_ref", id: "oc-product-ref", dir: "auto", maxlength: 200 });
  const mine = h("input", { type: "checkbox", name: "assign_me", id: "oc-mine", checked: true });
  const notify = h("input", { type: "checkbox", name: "notify_customer", id: "oc-notify", checked: true });
  const body = h("div", { class: "stack" },
    h("p", { class: "muted" }, t("cmp_open_intro")),
    h("div", { class: "care-grid" },
      field(t("cmp_f_category"), category),
      field(t("cmp_f_subcategory"), subcategory),
      field(t("cmp_f_severity"), severity),
      field(t("cmp_f_product_ref"), product)),
    field(t("cmp_f_description"), description),
    h("label", { class: "check", for: "oc-mine" }, mine, " ", t("cmp_follow_myself")),
    h("label", { class: "check", for: "oc-notify" }, notify, " ", t("cmp_f_notify_customer")));
  let created = null;
  const ok = await modal({
    title: t("cmp_open_title", { id: conv.id }), body, id: "open-complaint-dialog", submitLabel: t("cmp_open"), wide: true,
    onSubmit: async () => {
      const data = {
        conversation_id: conv.id,
        category: category.value || null,
        subcategory: subcategory.value || null,
        severity: severity.value || null,
        description: description.value,
        product_ref: product.value,
        notify_customer: notify.checked,
      };
      if (mine.checked) data.assignee_id = me.id;
      created = await api("/complaints", { method: "POST", body: data });
    },
  });
  return ok ? created : null;
}
