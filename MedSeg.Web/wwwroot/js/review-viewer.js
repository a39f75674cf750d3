// The review page's viewer: image | ground truth | prediction | overlay on four canvases with one view (zoom and pan)
// shared by all of them. The masks arrive as their labels (8-bit grey PNGs, 0 = background, served by the app), so the
// browser draws each class in its colour, true positives, false positives and false negatives, filled or as contours,
// at an opacity, for one class or all. Loaded as an ES module (script-src 'self'): no inline script, no inline handler.

const TP = [0, 200, 0];          // green: in both masks
const FP = [230, 0, 0];          // red: predicted, not in the ground truth
const FN = [0, 120, 255];        // blue: in the ground truth, not predicted
const CONFUSION = [255, 255, 255]; // white: a foreground class predicted as another (all classes of a label map)
const MAX_SCALE = 32;

const viewers = new WeakMap();

// Wires the viewer inside root: wheel zoom about the pointer and drag pan on every pane, and the page's keys
// (→ / j / n next case, ← / k / p previous, + and − zoom, 0 resets, c fill or contour), reported to dotNetRef.OnViewerKey
// for what the page owns (next, previous, contour). Keys typed into a field are left alone.
export function attach(root, dotNetRef) {
    if (!root || viewers.has(root)) return;
    const v = {
        root, dotNetRef, scale: 1, x: 0, y: 0, width: 0, height: 0,
        mode: 'fill', opacity: 0.5, cls: null, colours: [], image: null, truth: null, prediction: null, layers: null,
        ready: false, loads: 0, listeners: [],
    };
    viewers.set(root, v);
    for (const canvas of canvases(v)) {
        on(v, canvas, 'wheel', e => {
            e.preventDefault();
            const p = point(canvas, e);
            zoomAt(v, e.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
        }, { passive: false });
        let drag = null;
        on(v, canvas, 'pointerdown', e => {
            drag = { x: e.clientX, y: e.clientY };
            canvas.setPointerCapture(e.pointerId);
        });
        on(v, canvas, 'pointermove', e => {
            if (!drag || v.scale === 1) return;
            const r = canvas.getBoundingClientRect();
            const k = r.width > 0 ? canvas.width / r.width : 1;
            v.x += (e.clientX - drag.x) * k;
            v.y += (e.clientY - drag.y) * k;
            drag = { x: e.clientX, y: e.clientY };
            clamp(v);
            draw(v);
        });
        const end = () => { drag = null; };
        on(v, canvas, 'pointerup', end);
        on(v, canvas, 'pointercancel', end);
    }
    on(v, document, 'keydown', e => onKey(v, e));
}

// Removes the document's key listener and the panes' listeners.
export function detach(root) {
    const v = viewers.get(root);
    if (!v) return;
    for (const [target, type, fn, options] of v.listeners) target.removeEventListener(type, fn, options);
    viewers.delete(root);
}

// Shows a case: { imageUrl, truthUrl, predictionUrl, colours (#rrggbb of labels 0 … K − 1; empty for binary), mode, opacity, cls }.
// The view is kept when the new case has the size of the last one (the same region across cases), reset otherwise.
export async function show(root, options) {
    const v = viewers.get(root);
    if (!v) return;
    const load = ++v.loads;
    v.ready = false;
    root.dataset.ready = 'false';
    const [image, truth, prediction] = await Promise.all([
        loadImage(options.imageUrl), loadImage(options.truthUrl), loadImage(options.predictionUrl)]);
    if (load !== v.loads || !viewers.has(root)) return; // a later case was asked for meanwhile
    if (image.naturalWidth !== v.width || image.naturalHeight !== v.height) { v.scale = 1; v.x = 0; v.y = 0; }
    v.width = image.naturalWidth;
    v.height = image.naturalHeight;
    v.image = image;
    v.truth = labels(truth);
    v.prediction = labels(prediction);
    v.colours = (options.colours || []).map(rgb);
    for (const canvas of canvases(v)) { canvas.width = v.width; canvas.height = v.height; }
    apply(v, options);
    v.ready = true;
    root.dataset.ready = 'true';
}

// Changes the overlay: { mode: 'fill' | 'contour', opacity: 0 … 1, cls: a label or null for all }.
export function set(root, options) {
    const v = viewers.get(root);
    if (v) apply(v, options);
}

// Zooms about the panes' centre by a factor; 0 resets.
export function zoom(root, factor) {
    const v = viewers.get(root);
    if (!v) return;
    if (factor === 0) { v.scale = 1; v.x = 0; v.y = 0; draw(v); }
    else zoomAt(v, factor, v.width / 2, v.height / 2);
}

// The view as the panes draw it: scale, offset, overlay settings and each canvas's transform (a, d, e, f).
export function state(root) {
    const v = viewers.get(root);
    if (!v) return null;
    return {
        ready: v.ready, scale: v.scale, x: v.x, y: v.y, mode: v.mode, opacity: v.opacity, cls: v.cls, width: v.width, height: v.height,
        transforms: canvases(v).map(c => {
            const t = c.getContext('2d').getTransform();
            return { pane: c.dataset.pane, a: t.a, d: t.d, e: t.e, f: t.f };
        }),
    };
}

function apply(v, options) {
    if (options.mode === 'fill' || options.mode === 'contour') v.mode = options.mode;
    if (typeof options.opacity === 'number') v.opacity = Math.min(1, Math.max(0, options.opacity));
    if ('cls' in options) v.cls = options.cls === null || options.cls === undefined ? null : options.cls;
    if (v.truth && v.prediction) v.layers = buildLayers(v);
    draw(v);
}

function canvases(v) {
    return Array.from(v.root.querySelectorAll('canvas[data-pane]'));
}

function on(v, target, type, fn, options) {
    target.addEventListener(type, fn, options);
    v.listeners.push([target, type, fn, options]);
}

function onKey(v, e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || (t.getAttribute && t.getAttribute('role') === 'slider'))) return;
    let action = null;
    switch (e.key) {
        case 'ArrowRight': case 'j': case 'n': action = 'next'; break;
        case 'ArrowLeft': case 'k': case 'p': action = 'previous'; break;
        case 'c': action = 'contour'; break;
        case '+': case '=': zoom(v.root, 1.25); break;
        case '-': zoom(v.root, 0.8); break;
        case '0': zoom(v.root, 0); break;
        default: return;
    }
    e.preventDefault();
    if (action && v.dotNetRef) v.dotNetRef.invokeMethodAsync('OnViewerKey', action).catch(() => { });
}

function point(canvas, e) {
    const r = canvas.getBoundingClientRect();
    const k = r.width > 0 ? canvas.width / r.width : 1;
    return { x: (e.clientX - r.left) * k, y: (e.clientY - r.top) * k };
}

function zoomAt(v, factor, px, py) {
    const next = Math.min(MAX_SCALE, Math.max(1, v.scale * factor));
    const f = next / v.scale;
    v.x = px - (px - v.x) * f;
    v.y = py - (py - v.y) * f;
    v.scale = next;
    clamp(v);
    draw(v);
}

// Keeps the image covering the panes: no empty band beyond its edges once zoomed in.
function clamp(v) {
    if (v.scale === 1) { v.x = 0; v.y = 0; return; }
    v.x = Math.min(0, Math.max(v.width - v.width * v.scale, v.x));
    v.y = Math.min(0, Math.max(v.height - v.height * v.scale, v.y));
}

function draw(v) {
    if (!v.image) return;
    for (const canvas of canvases(v)) {
        const ctx = canvas.getContext('2d');
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.fillStyle = '#000';
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.setTransform(v.scale, 0, 0, v.scale, v.x, v.y);
        ctx.imageSmoothingEnabled = v.scale < 2;
        ctx.drawImage(v.image, 0, 0, v.width, v.height);
        const layer = v.layers && v.layers[canvas.dataset.pane];
        if (layer && v.opacity > 0) {
            ctx.imageSmoothingEnabled = false;
            ctx.globalAlpha = v.opacity;
            ctx.drawImage(layer, 0, 0, v.width, v.height);
            ctx.globalAlpha = 1;
        }
    }
}

function loadImage(url) {
    return new Promise((resolve, reject) => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = () => reject(new Error('Could not load ' + url));
        img.src = url;
    });
}

// The labels of a grey PNG: its first channel, one byte a pixel.
function labels(img) {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, c.width, c.height).data;
    const out = new Uint8Array(c.width * c.height);
    for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i];
    return { width: c.width, height: c.height, data: out };
}

function rgb(hex) {
    const m = /^#?([0-9a-f]{6})$/i.exec(hex || '');
    const n = m ? parseInt(m[1], 16) : 0xffc400;
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// The coloured layers each pane lays over the image, at the labels' resolution: ground truth and prediction in their
// class colours (amber for binary), and the overlay's TP, FP, FN (and, all classes of a label map, confusion).
function buildLayers(v) {
    const t = v.truth, p = v.prediction;
    const w = t.width, h = t.height;
    const same = p.width === w && p.height === h;
    const cls = v.cls;
    const colour = label => v.colours.length > 1 ? v.colours[Math.min(label, v.colours.length - 1)] : [255, 196, 0];
    // Category of each pixel, per pane: 0 nothing, else an index into that pane's palette.
    const truthCat = new Uint8Array(w * h), predCat = new Uint8Array(w * h), overlayCat = new Uint8Array(w * h);
    for (let i = 0; i < w * h; i++) {
        const a = t.data[i];
        const b = same ? p.data[i] : 0;
        if (cls === null) {
            truthCat[i] = a;
            predCat[i] = b;
            if (a !== 0 && a === b) overlayCat[i] = 1;
            else if (a === 0 && b !== 0) overlayCat[i] = 2;
            else if (a !== 0 && b === 0) overlayCat[i] = 3;
            else if (a !== 0) overlayCat[i] = 4;
        } else {
            truthCat[i] = a === cls ? a : 0;
            predCat[i] = b === cls ? b : 0;
            if (a === cls && b === cls) overlayCat[i] = 1;
            else if (b === cls) overlayCat[i] = 2;
            else if (a === cls) overlayCat[i] = 3;
        }
    }
    const overlayPalette = [null, TP, FP, FN, CONFUSION];
    return {
        truth: paint(truthCat, w, h, k => colour(k), v.mode),
        prediction: same ? paint(predCat, w, h, k => colour(k), v.mode) : null,
        overlay: same ? paint(overlayCat, w, h, k => overlayPalette[k], v.mode) : null,
    };
}

// An RGBA canvas of the categories, each in its colour: every pixel (fill) or only those on a category's edge (contour).
function paint(cat, w, h, colourOf, mode) {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(w, h);
    const d = img.data;
    for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
            const i = y * w + x;
            const k = cat[i];
            if (k === 0) continue;
            if (mode === 'contour' && x > 0 && y > 0 && x < w - 1 && y < h - 1
                && cat[i - 1] === k && cat[i + 1] === k && cat[i - w] === k && cat[i + w] === k) continue;
            const col = colourOf(k);
            if (!col) continue;
            d[4 * i] = col[0]; d[4 * i + 1] = col[1]; d[4 * i + 2] = col[2]; d[4 * i + 3] = 255;
        }
    }
    ctx.putImageData(img, 0, 0);
    return c;
}
