/**
 * The Standard Schema interface (https://standardschema.dev, version 1),
 * declared here so that userhub accepts zod, valibot, ArkType or a
 * hand-written validator without depending on any of them. The shape is the
 * specification's, copied as its authors ask libraries to do.
 *
 * @module
 */

/** A schema that validates an unknown value into `Output` (or lists its issues). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

export declare namespace StandardSchemaV1 {
  /** What every Standard Schema carries under `~standard`. */
  export interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    /** The library's name, e.g. `"valibot"`. */
    readonly vendor: string;
    /** Validates `value`; may answer asynchronously. */
    readonly validate: (value: unknown, options?: Options) => Result<Output> | Promise<Result<Output>>;
    /** Present for type inference only; never read at runtime. */
    readonly types?: Types<Input, Output> | undefined;
  }

  /** Options a caller may pass to `validate`. */
  export interface Options {
    readonly libraryOptions?: Record<string, unknown> | undefined;
  }

  /** A validation's outcome. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;

  export interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }

  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }

  /** One problem with the value, and where in it. */
  export interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  export interface PathSegment {
    readonly key: PropertyKey;
  }

  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }

  /** The type a schema accepts. */
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema["~standard"]["types"]>["input"];
  /** The type a schema's successful validation produces. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema["~standard"]["types"]>["output"];
}
