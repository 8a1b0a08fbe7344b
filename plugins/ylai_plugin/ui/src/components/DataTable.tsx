import type { Key as ReactKey, ReactNode } from "react";
import type { Polled } from "../lib/hooks";
import { Empty, ErrorBox, Loading } from "./ui";

export interface Column<T> {
  /** The header cell (none: an empty one, as over a row's buttons). */
  header?: ReactNode;
  cell: (row: T) => ReactNode;
  className?: string;
  title?: (row: T) => string | undefined;
}

export interface TableProps<T> {
  rows: readonly T[];
  columns: Column<T>[];
  rowKey: (row: T, index: number) => ReactKey;
  testId?: string;
  compact?: boolean;
  /** Attributes of a row: its test id and class. */
  rowProps?: (row: T) => { testId?: string; className?: string };
}

/** The pages' tables: a header row and one row per item, scrolling sideways when too wide. */
export function DataTable<T>({ rows, columns, rowKey, testId, compact, rowProps }: TableProps<T>) {
  const hasHeader = columns.some((c) => c.header !== undefined);
  return (
    <div className="y-table-wrap">
      <table className={compact ? "y-table y-table-compact" : "y-table"} data-testid={testId}>
        {hasHeader ? (
          <thead>
            <tr>
              {columns.map((c, n) => (
                <th key={n}>{c.header}</th>
              ))}
            </tr>
          </thead>
        ) : null}
        <tbody>
          {rows.map((row, index) => {
            const extra = rowProps?.(row);
            return (
              <tr key={rowKey(row, index)} data-testid={extra?.testId} className={extra?.className}>
                {columns.map((c, n) => (
                  <td key={n} className={c.className} title={c.title?.(row)}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A list's body, the same on every page: its error, "loading" until the first answer, the empty
 * message when the answer has no items, then the table.
 */
export function ListPage<T>({ list, empty, emptyTestId, ...table }: TableProps<T> & { list: Polled<{ items: T[] }>; empty: ReactNode; emptyTestId?: string }) {
  return (
    <>
      {list.error ? <ErrorBox error={list.error} /> : null}
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && table.rows.length === 0 ? <Empty testId={emptyTestId}>{empty}</Empty> : null}
      {table.rows.length ? <DataTable {...table} /> : null}
    </>
  );
}
