// Building elements from data without ever parsing it as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A list from an API answer that may be a bare array, `{items: [...]}` or an object keyed by name.
export function listOf(data, keyName) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.items)) return data.items;
  if (data && typeof data === "object") {
    return Object.entries(data).map(([key, value]) =>
      value && typeof value === "object" ? { [keyName]: key, ...value } : { [keyName]: key, value });
  }
  return [];
}
