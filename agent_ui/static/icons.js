// Inline SVG icons built with DOM APIs (no markup strings, no external files).
import { channelName } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";

// 24x24 stroke paths, drawn for legibility at 16-20 px.
const PATHS = {
  sms: ["M4 5h16v11H8l-4 4z", "M8 9h8M8 12h5"],
  whatsapp: ["M5 19l1.2-3.6A8 8 0 1 1 9 18.6z", "M9.5 8.5c0 3 2.5 6 6 6l1-1.5-2-1-1 1c-1-.5-2-1.5-2.5-2.5l1-1-1-2z"],
  telegram: ["M3 11l17-7-3 16-5-4-3 3v-5l8-7-10 6z"],
  email: ["M3 6h18v12H3z", "M3 7l9 6 9-6"],
  voice: ["M6 3h3l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v3a2 2 0 0 1-2 2A16 16 0 0 1 4 5a2 2 0 0 1 2-2z"],
  webchat: ["M4 4h16v12H9l-5 4z", "M8 8h8M8 11h6"],
  chat: ["M4 4h16v12H9l-5 4z"],
  loopback: ["M17 2l4 4-4 4", "M3 11V9a3 3 0 0 1 3-3h15", "M7 22l-4-4 4-4", "M21 13v2a3 3 0 0 1-3 3H3"],
  note: ["M5 3h10l4 4v14H5z", "M15 3v4h4", "M8 12h8M8 16h5"],
  call: ["M6 3h3l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v3a2 2 0 0 1-2 2A16 16 0 0 1 4 5a2 2 0 0 1 2-2z"],
  star: ["M12 3l2.7 5.6 6.1.9-4.4 4.3 1 6.1L12 17l-5.4 2.9 1-6.1-4.4-4.3 6.1-.9z"],
  clip: ["M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7"],
  send: ["M3 12l18-8-7 18-3-7z", "M11 15l10-11"],
  check: ["M5 12l5 5 9-10"],
  checks: ["M2 12l5 5 9-10", "M10 16l1 1 9-10"],
  clock: ["M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18", "M12 7v5l3 2"],
  alert: ["M12 3l10 18H2z", "M12 10v5M12 18v.5"],
  close: ["M6 6l12 12M18 6L6 18"],
  event: ["M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18", "M12 8v5M12 16v.5"],
  user: ["M12 12a4 4 0 1 0 0-8a4 4 0 1 0 0 8", "M4 21a8 8 0 0 1 16 0"],
  bell: ["M6 16V11a6 6 0 0 1 12 0v5l2 2H4z", "M10 20a2 2 0 0 0 4 0"],
  menu: ["M4 7h16M4 12h16M4 17h16"],
  // Points to the start side; base.css mirrors it in right-to-left pages.
  back: ["M19 12H5", "M11 6l-6 6 6 6"],
};

export function icon(name, { label = null, cls = "" } = {}) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon icon-${name} ${cls}`.trim());
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "1.8");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = label;
    svg.append(title);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  for (const d of PATHS[name] || PATHS.chat) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

/** The channel's icon, labelled with the channel's name for screen readers. */
export function channelIcon(kind) {
  const name = PATHS[kind] ? kind : "chat";
  return icon(name, { label: channelName(kind), cls: `channel channel-${kind}` });
}
