import Type, { type Static } from 'typebox';

/** RFC 9457 problem details, the body of every error answer (`application/problem+json`). */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem' },
);
export type Problem = Static<typeof ProblemSchema>;
