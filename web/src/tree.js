// The plant tree beside the 3D view: containers and objects, search by name or id.
const MAX_SHOWN = 400;

export class PlantTree {
  constructor(root, layout, { onPick }) {
    this.root = root;
    this.layout = layout;
    this.onPick = onPick;
    const o = layout.objects;
    this.children = new Map(); // parent id -> [{id, name, obj}]
    this.nodes = [];
    const add = (parent, node) => {
      if (!this.children.has(parent)) this.children.set(parent, []);
      this.children.get(parent).push(node);
    };
    for (const z of layout.zones) add(z.parent ?? "", { id: z.id, name: z.name, obj: -1 });
    const ids = new Set([...layout.zones.map((z) => z.id), ...o.id]);
    for (let i = 0; i < o.count; i++) {
      const parent = o.parent[i] !== null && ids.has(o.parent[i]) ? o.parent[i] : o.group[i] ?? "";
      add(parent, { id: o.id[i], name: o.name[i], obj: i });
    }
    this.render("");
  }

  render(query) {
    const q = query.trim().toLowerCase();
    this.root.textContent = "";
    let shown = 0;
    const build = (parent, depth) => {
      const ul = document.createElement("ul");
      for (const node of this.children.get(parent) ?? []) {
        if (shown >= MAX_SHOWN) break;
        const sub = this.children.has(node.id) ? build(node.id, depth + 1) : null;
        const match = !q || node.name.toLowerCase().includes(q) || node.id.toLowerCase().includes(q);
        if (!match && !(sub && sub.childElementCount)) continue;
        const li = document.createElement("li");
        const a = document.createElement("button");
        a.type = "button";
        a.className = node.obj >= 0 ? "leaf" : "group";
        a.textContent = node.name;
        a.title = node.id;
        a.dataset.twin = node.id;
        a.onclick = () => this.onPick(node);
        li.appendChild(a);
        if (sub && sub.childElementCount) li.appendChild(sub);
        ul.appendChild(li);
        shown++;
      }
      return ul;
    };
    this.root.appendChild(build("", 0));
    if (shown >= MAX_SHOWN) {
      const more = document.createElement("p");
      more.className = "more";
      more.textContent = `showing the first ${MAX_SHOWN}: search to narrow`;
      this.root.appendChild(more);
    }
  }

  mark(id) {
    for (const el of this.root.querySelectorAll("button.selected")) el.classList.remove("selected");
    const el = id && this.root.querySelector(`button[data-twin="${CSS.escape(id)}"]`);
    if (el) {
      el.classList.add("selected");
      el.scrollIntoView({ block: "nearest" });
    }
  }
}
