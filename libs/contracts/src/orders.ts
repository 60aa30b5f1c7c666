// Orders: the public order API.
export {};
