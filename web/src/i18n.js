// Every UI string of the line dashboard (and of the viewer's fixed labels) in one place,
// English and Simplified Chinese. A page picks its language from `?lang=` (so a shared link
// keeps it), then the one chosen before (localStorage), then the browser's; `t(key)` gives a
// string, `applyI18n(root)` fills every element with a `data-i18n` (text) or
// `data-i18n-title` (tooltip) attribute.

/** @type {Record<string, Record<string, string>>} */
export const STRINGS = {
  en: {
    "lang.name": "English",
    // dashboard
    "dash.title": "Line dashboard",
    "dash.line": "Line",
    "dash.shift": "This shift",
    "dash.since": "since {t}",
    "dash.updated": "updated {t}",
    "dash.oee": "OEE",
    "dash.availability": "Availability",
    "dash.performance": "Performance",
    "dash.quality": "Quality",
    "dash.throughput": "Throughput",
    "dash.rated": "rated {n}/h",
    "dash.per_hour": "/h",
    "dash.of_rated": "{p} of rated",
    "dash.good": "good units",
    "dash.energy_unit": "Energy per unit",
    "dash.co2_unit": "CO2e per unit",
    "dash.energy_total": "{kwh} kWh · {kg} kg CO2e in total",
    "dash.alarms": "Alarms",
    "dash.no_alarms": "No active alarms",
    "dash.machines": "OEE per machine",
    "dash.hourly": "Output per hour",
    "dash.no_data": "no data yet",
    "dash.open_3d": "3D view",
    "dash.share": "Copy link",
    "dash.copied": "Link copied",
    "dash.error": "Cannot load: {e}",
    "dash.priority.urgent": "urgent",
    "dash.priority.high": "high",
    "dash.priority.medium": "medium",
    "dash.priority.low": "low",
    "dash.state.unacknowledged": "unacknowledged",
    "dash.state.acknowledged": "acknowledged",
    "dash.state.rtn_unacknowledged": "cleared, unacknowledged",
    "dash.state.shelved": "shelved",
    "dash.state.suppressed": "suppressed",
    "dash.state.out_of_service": "out of service",
    // viewer
    "viewer.fit": "Fit",
    "viewer.fit.title": "Fit the plant in view",
    "viewer.whatif": "What-if",
    "viewer.edit": "edit plant",
    "viewer.table": "table",
    "viewer.dashboard": "dashboard",
    "viewer.search": "Search machines…",
    "viewer.here": "Here now",
    "viewer.summon": "Bring everyone here",
    "viewer.notes": "Notes",
    "viewer.live": "● Live",
    "viewer.legend": "State",
  },
  "zh-CN": {
    "lang.name": "简体中文",
    "dash.title": "产线看板",
    "dash.line": "产线",
    "dash.shift": "本班次",
    "dash.since": "自 {t} 起",
    "dash.updated": "更新于 {t}",
    "dash.oee": "设备综合效率 OEE",
    "dash.availability": "可用率",
    "dash.performance": "性能率",
    "dash.quality": "合格率",
    "dash.throughput": "产量",
    "dash.rated": "额定 {n}/小时",
    "dash.per_hour": "/小时",
    "dash.of_rated": "达额定的 {p}",
    "dash.good": "合格品",
    "dash.energy_unit": "单位能耗",
    "dash.co2_unit": "单位碳排放 CO2e",
    "dash.energy_total": "合计 {kwh} 千瓦时 · {kg} 千克 CO2e",
    "dash.alarms": "报警",
    "dash.no_alarms": "无活动报警",
    "dash.machines": "各设备 OEE",
    "dash.hourly": "每小时产出",
    "dash.no_data": "暂无数据",
    "dash.open_3d": "三维视图",
    "dash.share": "复制链接",
    "dash.copied": "链接已复制",
    "dash.error": "无法加载：{e}",
    "dash.priority.urgent": "紧急",
    "dash.priority.high": "高",
    "dash.priority.medium": "中",
    "dash.priority.low": "低",
    "dash.state.unacknowledged": "未确认",
    "dash.state.acknowledged": "已确认",
    "dash.state.rtn_unacknowledged": "已恢复未确认",
    "dash.state.shelved": "已搁置",
    "dash.state.suppressed": "已抑制",
    "dash.state.out_of_service": "停用",
    "viewer.fit": "适配",
    "viewer.fit.title": "使整个工厂适配视图",
    "viewer.whatif": "假设分析",
    "viewer.edit": "编辑工厂",
    "viewer.table": "表格",
    "viewer.dashboard": "看板",
    "viewer.search": "搜索设备…",
    "viewer.here": "在线人员",
    "viewer.summon": "召集所有人到此",
    "viewer.notes": "备注",
    "viewer.live": "● 实时",
    "viewer.legend": "状态",
  },
};

export const LANGS = Object.keys(STRINGS);
const KEY = "twinverse.lang";

/** The page's language: ?lang=, else the stored choice, else the browser's (zh* → zh-CN), else English. */
export function pickLang() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked && asked in STRINGS) return asked;
  const stored = localStorage.getItem(KEY);
  if (stored && stored in STRINGS) return stored;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

let lang = "en";

/** Switch the language (kept for next time and in the address, so a copied link carries it). */
export function setLang(/** @type {string} */ next) {
  lang = next in STRINGS ? next : "en";
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang;
  const url = new URL(location.href);
  url.searchParams.set("lang", lang);
  history.replaceState(null, "", url);
}

export const currentLang = () => lang;

/** The string `key` in the current language (English when missing), `{name}` filled from `vars`. */
export function t(/** @type {string} */ key, /** @type {Record<string, any>} */ vars = {}) {
  const s = STRINGS[lang]?.[key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

/** Fill `data-i18n` texts, `data-i18n-title` tooltips and `data-i18n-placeholder` placeholders under `root`. */
export function applyI18n(root = document.body) {
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll("[data-i18n]"))) {
    el.textContent = t(el.dataset.i18n ?? "");
  }
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll("[data-i18n-title]"))) {
    el.title = t(el.dataset.i18nTitle ?? "");
  }
  for (const el of /** @type {NodeListOf<HTMLInputElement>} */ (root.querySelectorAll("[data-i18n-placeholder]"))) {
    el.placeholder = t(el.dataset.i18nPlaceholder ?? "");
  }
}

/** A <select> of the languages, switching on change; `onChange` re-renders what is not data-i18n. */
export function languageSwitch(/** @type {HTMLSelectElement} */ select, /** @type {() => void} */ onChange) {
  select.textContent = "";
  for (const code of LANGS) {
    const o = document.createElement("option");
    o.value = code;
    o.textContent = STRINGS[code]["lang.name"];
    select.appendChild(o);
  }
  select.value = lang;
  select.onchange = () => {
    setLang(select.value);
    applyI18n();
    onChange();
  };
}
