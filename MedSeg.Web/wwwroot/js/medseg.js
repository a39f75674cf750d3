// MedSeg browser helpers (upload with progress).
window.medseg = window.medseg || {};

(function (medseg) {
    'use strict';

    // Name, size and number of files (not folders) of the zip chosen in a file input; null when nothing is chosen.
    // The count comes from the zip's central directory (the last bytes of the file); it is null when that cannot be read.
    medseg.zipInfo = async function (input) {
        const file = input && input.files && input.files[0];
        if (!file) return null;
        let files = null;
        try {
            files = await countZipFiles(file);
        } catch (e) {
            files = null;
        }
        return { name: file.name, size: file.size, files: files };
    };

    // Posts the chosen file as multipart (the given fields first, then 'file') with XMLHttpRequest so that the
    // browser streams it and reports real progress. Same-origin: the auth cookie goes along, no extra headers.
    // Progress goes to dotNetRef.OnUploadProgress(loaded, total), about ten times a second, always ending with the total.
    // Resolves with { status, statusText, body } whatever the status; rejects only when no response came back.
    // An id lets medseg.cancelUpload(id) abort it.
    const sending = {};

    // Aborts the upload started with this id (medseg.upload's promise then rejects with 'The upload was aborted.').
    medseg.cancelUpload = function (id) {
        const xhr = sending[id];
        if (xhr) xhr.abort();
    };

    medseg.upload = function (input, url, fields, dotNetRef, id) {
        return new Promise(function (resolve, reject) {
            const file = input && input.files && input.files[0];
            if (!file) {
                reject(new Error('No file is chosen.'));
                return;
            }
            const form = new FormData();
            Object.keys(fields || {}).forEach(function (key) {
                const value = fields[key];
                if (value !== null && value !== undefined) form.append(key, value);
            });
            form.append('file', file, file.name);

            const xhr = new XMLHttpRequest();
            let lastSent = 0;
            let finalSent = false;
            const report = function (loaded, total, force) {
                const now = Date.now();
                if (!force && now - lastSent < 100) return;
                lastSent = now;
                if (dotNetRef) dotNetRef.invokeMethodAsync('OnUploadProgress', loaded, total).catch(function () { });
            };
            xhr.upload.onprogress = function (e) {
                const total = e.lengthComputable ? e.total : file.size;
                const done = e.loaded >= total;
                if (done) {
                    if (finalSent) return;
                    finalSent = true;
                }
                report(e.loaded, total, done);
            };
            xhr.upload.onload = function () {
                if (!finalSent) {
                    finalSent = true;
                    report(file.size, file.size, true);
                }
            };
            xhr.onload = function () {
                resolve({ status: xhr.status, statusText: xhr.statusText || '', body: xhr.responseText || '' });
            };
            xhr.onerror = function () {
                reject(new Error('The connection to the server failed during the upload.'));
            };
            xhr.onabort = function () {
                reject(new Error('The upload was aborted.'));
            };
            xhr.ontimeout = function () {
                reject(new Error('The upload timed out.'));
            };
            if (id) {
                sending[id] = xhr;
                xhr.addEventListener('loadend', function () { delete sending[id]; });
            }
            xhr.open('POST', url, true);
            xhr.send(form);
        });
    };

    // Width of an element in CSS pixels (the case grid fits its columns to it).
    medseg.elementWidth = function (element) {
        return element ? element.getBoundingClientRect().width : 0;
    };

    // Zoom (wheel, about the pointer) and pan (drag) of a stage inside its frame, by a CSS transform; state on the element.
    medseg.panZoom = function (stage) {
        if (!stage || stage.medsegView) return;
        const view = stage.medsegView = { scale: 1, x: 0, y: 0 };
        const apply = function () {
            stage.style.transform = 'translate(' + view.x + 'px,' + view.y + 'px) scale(' + view.scale + ')';
        };
        view.zoomAt = function (factor, px, py) {
            const next = Math.min(16, Math.max(1, view.scale * factor));
            const f = next / view.scale;
            view.x = px - (px - view.x) * f;
            view.y = py - (py - view.y) * f;
            view.scale = next;
            if (next === 1) { view.x = 0; view.y = 0; }
            apply();
        };
        const frame = stage.parentElement;
        frame.addEventListener('wheel', function (e) {
            e.preventDefault();
            const r = frame.getBoundingClientRect();
            view.zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
        }, { passive: false });
        let drag = null;
        frame.addEventListener('pointerdown', function (e) {
            drag = { x: e.clientX - view.x, y: e.clientY - view.y };
            frame.setPointerCapture(e.pointerId);
        });
        frame.addEventListener('pointermove', function (e) {
            if (!drag || view.scale === 1) return;
            view.x = e.clientX - drag.x;
            view.y = e.clientY - drag.y;
            apply();
        });
        const end = function () { drag = null; };
        frame.addEventListener('pointerup', end);
        frame.addEventListener('pointercancel', end);
    };

    // Zooms about the frame's centre by a factor; 0 resets.
    medseg.zoom = function (stage, factor) {
        const view = stage && stage.medsegView;
        if (!view) return;
        const r = stage.parentElement.getBoundingClientRect();
        if (factor === 0) view.zoomAt(1 / view.scale, 0, 0);
        else view.zoomAt(factor, r.width / 2, r.height / 2);
    };

    async function countZipFiles(file) {
        // End of central directory: 22 bytes plus a comment of at most 65535 bytes, at the end of the file.
        const tailLength = Math.min(file.size, 22 + 65535);
        const tail = new DataView(await file.slice(file.size - tailLength).arrayBuffer());
        let eocd = -1;
        for (let i = tail.byteLength - 22; i >= 0; i--) {
            if (tail.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
        }
        if (eocd < 0) return null;
        const entries = tail.getUint16(eocd + 10, true);
        const cdSize = tail.getUint32(eocd + 12, true);
        const cdOffset = tail.getUint32(eocd + 16, true);
        if (entries === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) return null; // zip64: not worth it
        if (cdOffset + cdSize > file.size) return null;
        const cd = new DataView(await file.slice(cdOffset, cdOffset + cdSize).arrayBuffer());
        const decoder = new TextDecoder();
        let pos = 0;
        let files = 0;
        for (let n = 0; n < entries && pos + 46 <= cd.byteLength; n++) {
            if (cd.getUint32(pos, true) !== 0x02014b50) return null;
            const nameLength = cd.getUint16(pos + 28, true);
            const extraLength = cd.getUint16(pos + 30, true);
            const commentLength = cd.getUint16(pos + 32, true);
            const name = decoder.decode(new Uint8Array(cd.buffer, cd.byteOffset + pos + 46, nameLength));
            if (!name.endsWith('/') && !name.startsWith('__MACOSX/')) files++;
            pos += 46 + nameLength + extraLength + commentLength;
        }
        return files;
    }
})(window.medseg);
