'use strict';
/* The prototxt editor of the New model page: a textarea with line numbers,
   and an error placed at its line (the number marked, the line shaded, the
   caret moved there on request). */
class PrototxtEditor {
  constructor(container) {
    this.textarea = container.querySelector('textarea');
    this.gutter = container.querySelector('.gutter');
    this.errorLine = container.querySelector('.error-line');
    this.lines = 0;
    this.error = null;
    this.lineHeight = 18;
    this.padding = 6;
    this.textarea.addEventListener('input', () => this.renumber());
    this.textarea.addEventListener('scroll', () => this.sync());
    this.renumber();
  }

  get value() {
    return this.textarea.value;
  }

  set value(text) {
    this.textarea.value = text;
    this.textarea.scrollTop = 0;
    this.clearError();
    this.renumber();
  }

  renumber() {
    const count = this.textarea.value.split('\n').length;
    if (count !== this.lines) {
      const fragment = document.createDocumentFragment();
      for (let i = 1; i <= count; i++) {
        const div = document.createElement('div');
        div.textContent = i;
        fragment.append(div);
      }
      this.gutter.textContent = '';
      this.gutter.append(fragment);
      this.lines = count;
      if (this.error) this.markError(this.error, false);
    }
    this.sync();
  }

  sync() {
    this.gutter.scrollTop = this.textarea.scrollTop;
    if (this.error) {
      this.errorLine.style.top = this.padding + (this.error - 1) * this.lineHeight - this.textarea.scrollTop + 'px';
    }
  }

  clearError() {
    this.error = null;
    this.errorLine.hidden = true;
    this.gutter.querySelectorAll('.error').forEach((d) => d.classList.remove('error'));
    this.textarea.removeAttribute('aria-invalid');
  }

  markError(line, reveal) {
    /* Mark 1-based ``line``; ``reveal`` scrolls to it and puts the caret there. */
    this.clearError();
    if (!line || line > this.lines) return;
    this.error = line;
    this.gutter.children[line - 1].classList.add('error');
    this.textarea.setAttribute('aria-invalid', 'true');
    this.errorLine.hidden = false;
    if (reveal) {
      const starts = this.textarea.value.split('\n').slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
      this.textarea.focus();
      this.textarea.setSelectionRange(starts, starts);
      this.textarea.scrollTop = Math.max(0, (line - 5) * this.lineHeight);
    }
    this.sync();
  }
}
