import { useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useI18n } from "../i18n";

/** One choice: the value the form sends and the text the user reads. */
export interface Choice {
  value: unknown;
  label: string;
}

/** Choices rendered at once: a long list is narrowed by typing, not by scrolling thousands of rows. */
export const SHOWN = 100;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface ComboboxProps {
  id: string;
  choices: Choice[];
  /** The chosen value (single) or values (``multiple``). */
  value: unknown;
  multiple?: boolean;
  /** A new value; ``undefined`` when the choice is cleared (every chip removed, the clear button). */
  onChange: (value: unknown) => void;
  disabled?: boolean;
  invalid?: boolean;
  /** Shown in the empty input (the state of the list when it cannot be used yet). */
  placeholder?: string;
  testId: string;
  /** The id of the field's visible label (the list is named by it too). */
  labelId: string;
  /** The id of what the field says about its list (waiting, loading, an error, a cleared value). */
  describedBy?: string;
}

/**
 * A searchable select (``multiple``: a multi-select with chips), following the ARIA combobox
 * pattern: the input filters the list, arrow keys move through it, Enter picks, Escape closes;
 * the list is a ``listbox`` whose active option the input names with ``aria-activedescendant``.
 * Written here rather than taken from a library: the pages' bundle keeps React external and no
 * select library is in package.json.
 */
export function Combobox({ id, choices, value, multiple, onChange, disabled, invalid, placeholder, testId, labelId, describedBy }: ComboboxProps) {
  const { t } = useI18n();
  const listId = useId();
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);

  const selected: unknown[] = multiple ? (Array.isArray(value) ? value : []) : value === undefined || value === null ? [] : [value];
  const isOn = (v: unknown) => selected.some((s) => same(s, v));
  const labelOf = (v: unknown) => choices.find((c) => same(c.value, v))?.label ?? (typeof v === "string" ? v : JSON.stringify(v));

  const matches = useMemo(() => {
    const q = query.trim().toLowerCase();
    if (!q) return choices;
    return choices.filter((c) => c.label.toLowerCase().includes(q) || String(c.value).toLowerCase().includes(q));
  }, [choices, query]);
  const shown = matches.slice(0, SHOWN);
  const current = Math.min(active, Math.max(shown.length - 1, 0));

  const openList = () => {
    if (disabled) return;
    setOpen(true);
  };
  const close = () => {
    setOpen(false);
    setQuery("");
    setActive(0);
  };
  const pick = (choice: Choice) => {
    if (multiple) {
      onChange(isOn(choice.value) ? selected.filter((s) => !same(s, choice.value)) : [...selected, choice.value]);
      // The search is spent; the active row stays on the choice just toggled, now in the whole list.
      const index = choices.findIndex((c) => same(c.value, choice.value));
      setQuery("");
      setActive(index >= 0 && index < SHOWN ? index : 0);
    } else {
      onChange(choice.value);
      close();
    }
  };
  const remove = (v: unknown) => {
    const rest = selected.filter((s) => !same(s, v));
    onChange(rest.length ? rest : undefined);
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!open) {
        openList();
        return;
      }
      const step = e.key === "ArrowDown" ? 1 : -1;
      setActive((current + step + shown.length) % Math.max(shown.length, 1));
    } else if (e.key === "Home" && open) {
      setActive(0);
    } else if (e.key === "End" && open) {
      setActive(Math.max(shown.length - 1, 0));
    } else if (e.key === "Enter") {
      // Enter inside a form would submit it: here it picks the active choice.
      if (open && shown[current]) {
        e.preventDefault();
        pick(shown[current]);
      } else if (!open) {
        e.preventDefault();
        openList();
      }
    } else if (e.key === "Escape") {
      if (open) {
        e.preventDefault();
        close();
      }
    } else if (e.key === "Backspace" && multiple && query === "" && selected.length) {
      remove(selected[selected.length - 1]);
    }
  };

  const optionId = (i: number) => `${listId}-o${i}`;
  // Closed, a single select shows its choice; open (or typing), the text is the search.
  const text = open || multiple || !selected.length ? query : labelOf(selected[0]);

  return (
    <div className="y-combo">
      {multiple && selected.length ? (
        <ul className="y-chips" aria-label={t("form.optionsSelected", { n: selected.length })} data-testid={`${testId}-chips`}>
          {selected.map((v) => (
            <li key={JSON.stringify(v)} className="y-chip y-chip-choice">
              <span>{labelOf(v)}</span>
              <button type="button" className="y-chip-remove" disabled={disabled} aria-label={t("form.optionsRemove", { label: labelOf(v) })} onClick={() => remove(v)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <div className="y-row y-combo-row">
        <input
          ref={input}
          id={id}
          className="y-input y-grow"
          type="text"
          role="combobox"
          autoComplete="off"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open && shown.length ? optionId(current) : undefined}
          aria-invalid={invalid}
          aria-describedby={describedBy}
          disabled={disabled}
          placeholder={placeholder ?? t("form.optionsSearch")}
          value={text}
          data-testid={testId}
          onFocus={openList}
          onClick={openList}
          onBlur={close}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
            setOpen(true);
          }}
          onKeyDown={onKey}
        />
        {!multiple && selected.length && !disabled ? (
          <button type="button" className="y-btn y-btn-small" aria-label={t("form.optionsClear")} title={t("form.optionsClear")} onClick={() => onChange(undefined)} data-testid={`${testId}-clear`}>
            ×
          </button>
        ) : null}
      </div>
      <ul id={listId} role="listbox" aria-labelledby={labelId} aria-multiselectable={multiple || undefined} className="y-listbox" hidden={!open} data-testid={`${testId}-list`}>
        {open
          ? shown.map((c, i) => (
              <li
                key={JSON.stringify(c.value)}
                id={optionId(i)}
                role="option"
                aria-selected={isOn(c.value)}
                className={`y-option${i === current ? " y-option-active" : ""}`}
                data-testid={`${testId}-option`}
                data-value={typeof c.value === "string" ? c.value : JSON.stringify(c.value)}
                // mousedown, not click: the input must keep its focus (its blur closes the list).
                onMouseDown={(e) => {
                  e.preventDefault();
                  pick(c);
                }}
                onMouseEnter={() => setActive(i)}
              >
                {multiple ? <span aria-hidden="true">{isOn(c.value) ? "☑ " : "☐ "}</span> : null}
                {c.label}
              </li>
            ))
          : null}
        {open && !shown.length ? (
          <li className="y-option y-muted" role="presentation">
            {choices.length ? t("form.optionsNoMatch", { query: query.trim() }) : t("form.optionsNone")}
          </li>
        ) : null}
        {open && matches.length > shown.length ? (
          <li className="y-option y-muted y-small" role="presentation">
            {t("form.optionsMore", { n: matches.length - shown.length })}
          </li>
        ) : null}
      </ul>
    </div>
  );
}
